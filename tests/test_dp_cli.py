"""``panda dp-sweep`` end to end on a tiny patch prior and a 32x32 image."""
import json

import cv2
import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from panda_plugin.adapters.cli import main
from panda_plugin.adapters.cli.dp import MEASURE_NOTES, TRADEOFF_STEPS, steps_warning
from panda_plugin.engine.dp.patch_prior import PatchGMMPrior, fit_patch_gmm, load_patch_prior, sample_patches
from panda_plugin.engine.dp.sweep import SweepSettings, sweep_steps
from panda_plugin.engine.image_io import save_image, square_crop

pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture()
def tiny_prior(tmp_path, small_astronaut):
    patches = sample_patches([small_astronaut], 4, 200, seed=0)
    return PatchGMMPrior(fit_patch_gmm(patches, components=2, iterations=3), 4).save(tmp_path / 'prior.npz')


def test_patch_prior_score_has_the_image_shape_and_pulls_noise_towards_the_prior(tiny_prior):
    prior = load_patch_prior(tiny_prior)
    x = torch.randn(2, 3, 10, 13, dtype=torch.float64)
    score = prior(x, 0.5)
    assert score.shape == x.shape and torch.isfinite(score).all()
    assert (score * x).sum() < 0  # points back from far-out noise


def test_dp_sweep_runs_end_to_end(tmp_path, tiny_prior, small_astronaut, capsys):
    image = tmp_path / 'astronaut.png'
    save_image(image, square_crop(small_astronaut, 32))
    out = tmp_path / 'sweep'
    status = main(['dp-sweep', str(image), '--degrade', 'noise:0.2', '--lambdas', '0,1', '--size', '32',
                   '--steps', '5', '--average', '2', '--deterministic', '--prior', str(tiny_prior), '--out', str(out),
                   '--tensorboard', str(tmp_path / 'tb')])
    assert status == 0
    assert list((tmp_path / 'tb').glob('events.out.tfevents.*'))
    report = json.loads((out / 'sweep.json').read_text())
    assert report['conditioning'] == 'exact'  # the patch mixture's closed-form posterior for denoising
    assert set(report['runs']) == {'lambda=0', 'lambda=1', 'average=2', 'deterministic'}
    clean = square_crop(small_astronaut, 32).astype(np.float64) / 255
    noisy_psnr = report['measurement_psnr']['astronaut']
    outputs = {}
    for name, run in report['runs'].items():
        assert {'psnr', 'mse', 'patch_sw2', 'panda_fd'} <= set(run['mean']) and set(run['per_image']) == {'astronaut'}
        measured = run['per_image']['astronaut']
        assert measured['psnr'] == pytest.approx(-10 * np.log10(measured['mse']), abs=1e-6)
        assert measured['psnr'] > noisy_psnr + 1   # the restoration removes noise
        # the written picture is the measured output: PSNR from its 8-bit pixels, by hand
        outputs[name] = cv2.imread(str(out / 'images' / f'astronaut_{name}.png'))[:, :, ::-1].astype(np.float64) / 255
        assert -10 * np.log10(np.mean((outputs[name] - clean) ** 2)) == pytest.approx(measured['psnr'], abs=0.1)
        # one image: the pooled distance is the image's own; the output is not the reference
        assert run['mean']['panda_fd'] == pytest.approx(measured['panda_fd']) and measured['panda_fd'] > 0
    assert np.abs(outputs['lambda=0'] - outputs['lambda=1']).max() > 0.05   # lambda changes the output
    regions = report['regions']['astronaut']
    assert len(regions['regions']) == 16 and set(regions['by_kind']) == {'texture', 'flat'}
    for region in regions['regions']:
        for key in ('fidelity', 'texture'):
            assert set(region[key]) == {'lambda=0', 'lambda=1'} and all(0 <= v <= 1 for v in region[key].values())
    assert set(regions['by_kind']['flat']['texture']) == {'lambda=0', 'lambda=1'}
    assert (out / 'dp_curve.png').is_file() and (out / 'regions_astronaut.png').is_file()
    assert (out / 'dp_plane.png').is_file()
    events = EventAccumulator(str(tmp_path / 'tb'), size_guidance={'images': 0, 'scalars': 0, 'tensors': 0}).Reload()
    assert set(events.Tags()['scalars']) == {f'dp_mean/{key}' for key in (*report['measures'], 'seconds')}
    assert [(e.step, e.value) for e in events.Scalars('dp_mean/psnr')] == [
        (0, pytest.approx(report['runs']['lambda=0']['mean']['psnr'])),
        (100, pytest.approx(report['runs']['lambda=1']['mean']['psnr']))]
    assert [(e.step, e.width) for e in events.Images('dp/astronaut')] == [(0, 32), (100, 32)]
    table = events.Tensors('dp_regions/astronaut/text_summary')[0].tensor_proto.string_val[0].decode()
    assert table.count('\n| ') == 16 and '| fidelity lambda=0 -> lambda=1 |' in table
    assert set(report['measure_notes']) == {*report['measures'], 'seconds'}
    assert 'lower' in report['measure_notes']['panda_fd'] and 'fidelity' in report['measure_notes']['psnr']
    captured = capsys.readouterr()
    assert 'wrote' in captured.out and '25 reverse steps in all' in captured.out
    assert '25/25' in captured.err  # the progress bar: 5 steps x (lambda 0, lambda 1, 2 averaged samples, DDIM)
    warnings = [line for line in captured.err.splitlines() if 'warning' in line]
    assert warnings == [f'panda dp-sweep: warning: {report["warnings"][0]}']
    assert 'need 400 or more' in warnings[0]


def test_steps_warning_below_the_measured_step_counts():
    assert TRADEOFF_STEPS == {'noise': 400, 'sr': 50, 'blur': 50}
    assert '399 steps: noise sweeps need 400' in steps_warning(SweepSettings('noise:0.2', (0, 1), 399))
    assert steps_warning(SweepSettings('noise:0.2', (0, 1), 400)) is None
    assert steps_warning(SweepSettings('noise:0.2', (0, 0.5), 50)) is None  # the lambda = 1 end is not read
    assert steps_warning(SweepSettings('noise:0.2', (0,), 50, averages=(4,))) is not None  # averages of lambda = 1
    assert steps_warning(SweepSettings('sr:4', (0, 1), 50)) is None
    assert 'blur sweeps need 50' in steps_warning(SweepSettings('blur:2', (0.5, 1), 25))
    assert sweep_steps(SweepSettings('noise:0.2', (0, 0.5, 1), 10, averages=(4,), deterministic=True), 3) == 3 * 10 * 8


def test_dp_sweep_help_explains_every_measure(capsys):
    with pytest.raises(SystemExit):
        main(['dp-sweep', '--help'])
    text = capsys.readouterr().out
    for name in MEASURE_NOTES:
        assert f'  {name} ' in text
    assert '400 steps or more for noise' in text


@pytest.mark.parametrize('args', [['--degrade', 'jpeg:3'], ['--lambdas', '0,2'], ['--size', '16'], ['--steps', '1'],
                                  ['--conditioning', 'closed'], ['--degrade', 'blur:2', '--conditioning', 'exact']])
def test_dp_sweep_bad_options_exit_2(tmp_path, tiny_prior, small_astronaut, args):
    image = tmp_path / 'a.png'
    save_image(image, square_crop(small_astronaut, 32))
    assert main(['dp-sweep', str(image), '--prior', str(tiny_prior), '--out', str(tmp_path / 'o'), *args]) == 2
    assert not (tmp_path / 'o').exists()
