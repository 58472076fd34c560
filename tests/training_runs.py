"""BasicSR training runs read back: the values logged per iteration, and a resumed run against
an uninterrupted one (same weights, optimizer and scheduler states, and the same losses in the
iterations after the resume).

BasicSR replays the interrupted epoch from its start and reseeds its random generators when it
resumes, and Adam turns rounding differences of near-zero gradients into steps of the learning
rate. So the runs compared here train on one image (pair) per epoch, without augmentation: then
an exact resume repeats the uninterrupted run's arithmetic.
"""
import collections
import re
from pathlib import Path

import torch
import yaml

#: Relative and absolute tolerance of weights and optimizer moments (float rounding).
RTOL, ATOL = 1e-5, 1e-8
#: Relative tolerance of logged losses (BasicSR logs 5 significant digits).
LOGGED = 1e-4
_LOG_LINE = re.compile(r'\[epoch:\s*\d+, iter:\s*([\d,]+), lr:\([^)]*\)\] \[eta: [^\]]*\] (.*)$')


def logged_values(root: Path) -> list:
    """The values BasicSR logs per iteration (losses and the like) in each training log of a run.

    Args:
        root: The experiment folder (``experiments/<name>``).

    Returns:
        One ``{iteration: {name: value}}`` per ``train_*.log`` of the folder, oldest first.
    """
    logs = []
    for path in sorted(root.glob('train_*.log')):
        values = {}
        for line in path.read_text().splitlines():
            found = _LOG_LINE.search(line)
            if found:
                pairs = re.findall(r'(\S+): (\S+)', found[2])
                values[int(found[1].replace(',', ''))] = {name: float(value) for name, value in pairs}
        logs.append(values)
    return logs


def assert_losses_fall(root: Path, names: tuple) -> dict:
    """Assert that each named loss is lower at a run's last logged iteration than at its first.

    Args:
        root: Experiment folder of a run with one training log, trained on one fixed batch.
        names: Logged loss names (``l_total``, ``l_pseudo``, ...).

    Returns:
        The logged values, ``{iteration: {name: value}}``.
    """
    (values,) = logged_values(root)
    first, last = values[min(values)], values[max(values)]
    assert max(values) > min(values)
    for name in names:
        assert last[name] < first[name], (name, {iteration: logged[name] for iteration, logged in values.items()})
    return values


def one_image_per_epoch(options: str, name: str) -> str:
    """A BasicSR SR option file trained on the first image of its training set, one per batch.

    Args:
        options: Option file text with ``datasets.train`` a ``PairedImageDataset`` on a folder.
        name: The run's name.

    Returns:
        The option file text; ``meta_info_file`` (written beside the training images) lists
        the one image.
    """
    opt = yaml.safe_load(options)
    train = opt['datasets']['train']
    first = sorted(Path(train['dataroot_gt']).glob('*.png'))[0]
    listing = first.parent.parent / 'one_image.txt'
    listing.write_text(f'{first.name} (64,64,3)\n')
    train.update(meta_info_file=str(listing), batch_size_per_gpu=1)
    opt['name'] = name
    return yaml.safe_dump(opt, sort_keys=False)


def training_state(root: Path, iteration: int) -> dict:
    """``training_states/<iteration>.state`` of a run, read without pickle."""
    with torch.serialization.safe_globals([collections.Counter]):
        return torch.load(root / 'training_states' / f'{iteration}.state', weights_only=True)


def assert_resumed_like_uninterrupted(resumed: Path, whole: Path, resumed_at: int, last: int,
                                      networks=('net_g',)) -> None:
    """Assert that a run resumed at ``resumed_at`` ends as the uninterrupted run does.

    Args:
        resumed: Experiment folder of the run trained to ``resumed_at``, then resumed to ``last``.
        whole: Experiment folder of the same options trained to ``last`` in one go.
        resumed_at: Iteration of the state the run resumed from.
        last: Final iteration of both runs.
        networks: Network names whose ``models/<name>_<last>.pth`` must match.
    """
    logs, (after,) = logged_values(resumed), logged_values(whole)
    # the resumed run's log (the newest; BasicSR names logs by the second, so a run started in
    # the same second as the first one replaces its log) went on from the state
    assert sorted(logs[-1]) == list(range(resumed_at + 1, last + 1)), [sorted(log) for log in logs]
    assert sorted(after) == list(range(1, last + 1))
    before = {iteration: values for log in logs for iteration, values in log.items()}
    for iteration in sorted(before):
        losses = {name: value for name, value in after[iteration].items() if name.startswith('l_')}
        assert losses, after[iteration]
        for name, value in losses.items():
            assert abs(before[iteration][name] - value) <= LOGGED * abs(value), (iteration, name, before, after)
    for name in networks:
        ours = torch.load(resumed / 'models' / f'{name}_{last}.pth', weights_only=True)['params']
        theirs = torch.load(whole / 'models' / f'{name}_{last}.pth', weights_only=True)['params']
        assert ours.keys() == theirs.keys()
        for key, value in theirs.items():
            assert torch.allclose(ours[key].double(), value.double(), rtol=RTOL, atol=ATOL), key
    ours, theirs = training_state(resumed, last), training_state(whole, last)
    assert (ours['iter'], len(ours['optimizers'])) == (theirs['iter'], len(theirs['optimizers'])) == (last, len(networks))
    assert ours['schedulers'] == theirs['schedulers']
    for mine, other in zip(ours['optimizers'], theirs['optimizers'], strict=True):
        assert mine['param_groups'] == other['param_groups']
        assert mine['state'].keys() == other['state'].keys() and mine['state']
        for index, moments in other['state'].items():
            for key, value in moments.items():
                assert torch.allclose(mine['state'][index][key].double(), value.double(), rtol=RTOL, atol=ATOL), (index, key)
