"""BasicSR's own train and test pipelines after ``import panda_plugin``, ``panda test``, and
distributed training under torchrun (2 processes, gloo backend, CPU) on ``make-dataset`` shards.

The pipelines run in subprocesses, as a user runs them; the tiny option files keep every run
to a few seconds of training.
"""
import collections
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from training_runs import assert_resumed_like_uninterrupted, one_image_per_epoch

import panda_plugin
from panda_plugin.adapters.cli import main
from panda_plugin.core.errors import PandaInputError

ROOT = Path(__file__).resolve().parents[1]

#: The SR example, tiny: PandaSRModel, PandaRegionLoss and calculate_panda.
SR_OPTIONS = """
name: {name}
model_type: PandaSRModel
scale: 4
num_gpu: 0
manual_seed: 0
datasets:
  train:
    name: sr_train
    type: PairedImageDataset
    dataroot_gt: {data}/train/HR
    dataroot_lq: {data}/train/LR_bicubic/X4
    filename_tmpl: '{{}}'
    io_backend: {{type: disk}}
    gt_size: 32
    use_hflip: true
    use_rot: true
    num_worker_per_gpu: 0
    batch_size_per_gpu: 2
    dataset_enlarge_ratio: 1
    prefetch_mode: ~
  val:
    name: sr_val
    type: PairedImageDataset
    dataroot_gt: {data}/val/HR
    dataroot_lq: {data}/val/LR_bicubic/X4
    io_backend: {{type: disk}}
network_g: {{type: MSRResNet, num_feat: 8, num_block: 1, upscale: 4}}
path: {{pretrain_network_g: ~, resume_state: ~}}
train:
  optim_g: {{type: Adam, lr: !!float 1e-4}}
  scheduler: {{type: MultiStepLR, milestones: [100], gamma: 0.5}}
  total_iter: {iters}
  warmup_iter: -1
  pixel_opt: {{type: L1Loss, loss_weight: 1.0}}
  panda_opt: {{type: PandaRegionLoss, mode: region, segmenter: 'grid:2x2'}}
val:
  val_freq: 2
  save_img: true
  metrics:
    psnr: {{type: calculate_psnr, crop_border: 4}}
    panda: {{type: calculate_panda, crop_border: 0}}
  panda: {{pictures: 1, worst_regions: 3}}
logger:
  print_freq: 1
  save_checkpoint_freq: 2
  use_tb_logger: true
dist_params: {{backend: gloo, port: 29500}}
"""

SR_TEST_OPTIONS = """
name: sr_tiny_test
model_type: PandaSRModel
scale: 4
num_gpu: 0
datasets:
  test_1:
    name: sr_val
    type: PairedImageDataset
    dataroot_gt: {data}/val/HR
    dataroot_lq: {data}/val/LR_bicubic/X4
    io_backend: {{type: disk}}
network_g: {{type: MSRResNet, num_feat: 8, num_block: 1, upscale: 4}}
path: {{pretrain_network_g: {model}, strict_load_g: true}}
val:
  save_img: true
  suffix: ~
  metrics:
    psnr: {{type: calculate_psnr, crop_border: 4}}
    panda: {{type: calculate_panda, crop_border: 0}}
  panda: {{save_json: true}}
"""

#: PANDA training, tiny (as in test_training.py), on a list of LMDB shards.
PANDA_OPTIONS = """
name: panda_dist
model_type: PandaModel
num_gpu: 0
manual_seed: 0
datasets:
  train:
    name: shards
    type: PandaSetDataset
    dataroot: {data}
    num_worker_per_gpu: 0
    batch_size_per_gpu: 4
    dataset_enlarge_ratio: 1
    prefetch_mode: ~
  val:
    name: shards_val
    type: PandaSetDataset
    dataroot: {data}
network_g: {{type: PANDA, encoder: mobilenetv3_small_100, input_size: 64, dim: 32, blocks: 1, heads: 2}}
path: {{pretrain_network_g: ~, resume_state: ~}}
train:
  optim_g: {{type: AdamW, lr: !!float 1e-4}}
  scheduler: {{type: MultiStepLR, milestones: [100], gamma: 0.5}}
  total_iter: {iters}
  warmup_iter: -1
  loss_opt: {{type: PandaLoss, margin_weight: 0.5}}
val:
  val_freq: 2
  save_img: false
  metrics:
    relation_f1: {{better: higher}}
logger:
  print_freq: 1
  save_checkpoint_freq: 2
  use_tb_logger: false
dist_params: {{backend: gloo, port: 29500}}
"""

#: The documented wrapper around BasicSR's own training script.
TRAIN_SCRIPT = "import panda_plugin\nfrom basicsr.train import train_pipeline\ntrain_pipeline('.')\n"


def python(arguments, cwd, timeout=240):
    """Run ``python ARGUMENTS`` with this checkout first on the path; fail with its stderr."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')])))
    result = subprocess.run([sys.executable, *arguments], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def torchrun(arguments, cwd, logs):
    """Two processes on this machine (``--standalone`` picks a free port), each one's output
    in ``logs/<run>/attempt_0/<rank>/stderr.log``."""
    return python(['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', '--log-dir', str(logs),
                   '--redirects', '3', *arguments, '--launcher', 'pytorch', '--auto_resume'], cwd)


def rank_output(logs, rank):
    return '\n'.join(path.read_text() for path in sorted(Path(logs).rglob(f'attempt_0/{rank}/std*.log')))


def run_log(root, kind='train'):
    return '\n'.join(path.read_text() for path in sorted(Path(root).glob(f'{kind}_*.log')))


@pytest.fixture(scope='module')
def sr_data(image_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp('sr') / 'bundled_sr'
    assert main(['make-sr-data', '--images', str(image_folder), '--val-images', str(image_folder),
                 '--val-count', '2', '--out', str(out), '--size', '64', '--val-size', '64']) == 0
    return out


@pytest.fixture(scope='module')
def shards(image_folder, tmp_path_factory):
    """The two shards of one ``make-dataset --shard I/2`` run."""
    folder = tmp_path_factory.mktemp('shards')
    paths = [folder / f'train_{index}.lmdb' for index in range(2)]
    for index, path in enumerate(paths):
        assert main(['make-dataset', '--images', str(image_folder), '--out', str(path), '--split', 'train',
                     '--pairs-per-image', '2', '--size', '64', '--seed', '0', '--shard', f'{index}/2']) == 0
    return paths


def test_cpu_fallbacks_are_installed_on_import_only_without_cuda():
    import basicsr.train
    import basicsr.utils.options

    from panda_plugin.adapters.basicsr import cpu

    if torch.cuda.is_available():
        assert basicsr.train.load_resume_state is not cpu.load_resume_state
        return
    assert basicsr.train.load_resume_state is cpu.load_resume_state
    assert basicsr.utils.options.init_dist is cpu.init_dist
    original = cpu.ORIGINALS['basicsr.train', 'load_resume_state']
    assert original.__module__ == 'basicsr.train' and cpu.load_resume_state.__wrapped__ is original
    cpu.remove_cpu_fallbacks()
    try:
        assert basicsr.train.load_resume_state is original
        assert basicsr.utils.options.init_dist.__module__ == 'basicsr.utils.dist_util'
    finally:
        assert cpu.install_cpu_fallbacks()
    assert basicsr.train.load_resume_state is cpu.load_resume_state
    with pytest.raises(PandaInputError, match='--launcher slurm needs CUDA.*torchrun'):
        cpu.init_dist('slurm')


def test_launcher_pytorch_without_torchrun_is_one_line(tmp_path, capsys, monkeypatch):
    from panda_plugin.adapters.basicsr import cpu

    # as on a machine without CUDA (with CUDA, BasicSR's own init_dist starts nccl)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    installed_here = not cpu.ORIGINALS
    assert cpu.install_cpu_fallbacks()
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    options = tmp_path / 'x.yml'
    options.write_text(PANDA_OPTIONS.format(data=tmp_path / 'none.lmdb', iters=2))
    try:
        assert main(['train', '-opt', str(options), '--launcher', 'pytorch']) == 2
    finally:
        if installed_here:
            cpu.remove_cpu_fallbacks()
    assert 'needs RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT in the environment' in capsys.readouterr().err


def test_graph_json_goes_beside_basicsr_images():
    from panda_plugin.adapters.basicsr.outputs import graph_json_path

    train = {'is_train': True, 'name': 'run', 'path': {'visualization': 'v'}, 'val': {}}
    assert graph_json_path(train, 'set', 'img', 400) == os.path.join('v', 'img', 'img_400_panda.json')
    test = {'is_train': False, 'name': 'run', 'path': {'visualization': 'v'}, 'val': {'suffix': None}}
    assert graph_json_path(test, 'set', 'img', 'run') == os.path.join('v', 'set', 'img_run_panda.json')
    test['val']['suffix'] = 'x4'
    assert graph_json_path(test, 'set', 'img', 'run') == os.path.join('v', 'set', 'img_x4_panda.json')


def test_shards_read_as_one_dataset(shards):
    from panda_plugin.engine.panda.data.dataset import PandaSetDataset

    parts = [PandaSetDataset({'dataroot': str(path), 'phase': 'val'}) for path in shards]
    keys = [{part[i]['key'] for i in range(len(part))} for part in parts]
    assert all(keys) and not keys[0] & keys[1]
    joined = PandaSetDataset({'dataroot': [str(path) for path in shards], 'phase': 'val'})
    assert {joined[i]['key'] for i in range(len(joined))} == keys[0] | keys[1]


def test_panda_test_runs_the_shipped_sr_test_options(sr_data, tmp_path, monkeypatch):
    from basicsr.archs.srresnet_arch import MSRResNet

    monkeypatch.chdir(tmp_path)
    (tmp_path / 'datasets').mkdir()
    (tmp_path / 'datasets' / 'bundled_sr').symlink_to(sr_data)
    model = tmp_path / 'experiments' / 'MSRResNet_x4_panda' / 'models' / 'net_g_latest.pth'
    model.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save({'params': MSRResNet(num_feat=64, num_block=16, upscale=4).state_dict()}, model)
    assert main(['test', '-opt', str(ROOT / 'options' / 'test_MSRResNet_x4_panda.yml')]) == 0
    results = tmp_path / 'results' / 'MSRResNet_x4_panda_test'
    log = run_log(results, 'test')
    assert re.search(r'# panda: 0\.\d+', log) and re.search(r'# ssim: ', log)
    assert 'PANDA bundled_bench @ MSRResNet_x4_panda_test: mean score' in log
    folder = results / 'visualization' / 'bundled_bench'
    for name in ('astronaut', 'camera'):
        assert (folder / f'{name}_MSRResNet_x4_panda_test.png').is_file()
        graph = panda_plugin.DistortionGraph.from_json(folder / f'{name}_MSRResNet_x4_panda_test_panda.json')
        assert graph.image_size == (64, 64)
    assert main(['test', '-opt', str(tmp_path / 'missing.yml')]) == 2


@pytest.mark.slow
def test_basicsr_own_train_and_test_pipelines_after_import_panda_plugin(sr_data, tmp_path, monkeypatch):
    """BasicSR's train_pipeline, through the documented one-liner, resumes with --auto_resume
    on this CPU machine a run of an option file with the plugin's model, loss and metric, and
    ends where the uninterrupted run ends; then BasicSR's test_pipeline tests the result (in
    this process, which imported panda_plugin)."""
    import basicsr.test

    from panda_plugin.adapters.basicsr.training import reset_basicsr_logger

    monkeypatch.chdir(tmp_path)
    for name, iters in (('sr_own', 2), ('sr_own', 4), ('sr_whole', 4)):
        (tmp_path / f'{name}_{iters}.yml').write_text(
            one_image_per_epoch(SR_OPTIONS.format(name=name, data=sr_data, iters=iters), name))
    assert main(['train', '-opt', 'sr_own_2.yml']) == 0  # the state to resume from
    python(['-c', "import panda_plugin, basicsr.train as t; t.train_pipeline('.')",
            '-opt', 'sr_own_4.yml', '--auto_resume'], tmp_path)
    assert main(['train', '-opt', 'sr_whole_4.yml']) == 0
    root = tmp_path / 'experiments' / 'sr_own'
    assert_resumed_like_uninterrupted(root, tmp_path / 'experiments' / 'sr_whole', resumed_at=2, last=4)
    log = run_log(root)
    assert re.search(r'Resuming training from epoch: \d+, iter: 2\.', log)
    assert 'l_panda' in log and 'PANDA sr_val @ 4' in log and re.search(r'# panda: 0\.\d+', log)
    assert (root / 'visualization' / 'camera' / 'camera_4_panda.json').is_file()

    model = root / 'models' / 'net_g_latest.pth'
    (tmp_path / 'test.yml').write_text(SR_TEST_OPTIONS.format(data=sr_data, model=model))
    monkeypatch.setattr(sys, 'argv', ['test.py', '-opt', 'test.yml'])
    reset_basicsr_logger()
    basicsr.test.test_pipeline(str(tmp_path))
    results = tmp_path / 'results' / 'sr_tiny_test'
    assert re.search(r'# panda: 0\.\d+', run_log(results, 'test'))
    folder = results / 'visualization' / 'sr_val'
    assert {p.name for p in folder.iterdir()} == {f'{name}_sr_tiny_test{end}' for name in ('astronaut', 'camera')
                                                 for end in ('.png', '_panda.json')}


@pytest.mark.slow
def test_torchrun_trains_panda_on_two_shards_with_gloo_and_resumes(shards, tmp_path):
    """`panda train` under torchrun: 2 processes, gloo on CPU, the shards of one make-dataset
    run as one dataset, split between the ranks; rank 0 alone logs and saves; resume."""
    data = '[' + ', '.join(str(path) for path in shards) + ']'
    for iters in (2, 4):
        (tmp_path / f'panda_{iters}.yml').write_text(PANDA_OPTIONS.format(data=data, iters=iters))
        torchrun(['-m', 'panda_plugin.adapters.cli', 'train', '-opt', f'panda_{iters}.yml'], tmp_path,
                 tmp_path / f'logs_{iters}')
    root = tmp_path / 'experiments' / 'panda_dist'
    logs = sorted(root.glob('train_*.log'))
    assert len(logs) == 2  # one per run: rank 0's
    text = run_log(root)
    assert 'Number of train images: 8' in text and 'World size (gpu number): 2' in text
    # 8 pairs, batch 4: iteration 2 ends the second epoch only if each rank's loader holds
    # half of the pairs (one batch), i.e. the sampler split them between the ranks
    assert 'Resuming training from epoch: 1, iter: 2.' in text and 'Validation shards_val @ 4' in text
    with torch.serialization.safe_globals([collections.Counter]):
        state = torch.load(root / 'training_states' / '4.state', weights_only=True)
    assert state['iter'] == 4
    assert {p.name for p in (root / 'models').iterdir()} == {'net_g_2.pth', 'net_g_4.pth', 'net_g_latest.pth'}
    for iters in (2, 4):
        assert 'Start training' in rank_output(tmp_path / f'logs_{iters}', 0)
        assert 'INFO' not in rank_output(tmp_path / f'logs_{iters}', 1)


@pytest.mark.slow
def test_torchrun_runs_basicsr_own_train_pipeline_for_the_sr_example(sr_data, tmp_path):
    """BasicSR's train_pipeline through the documented 3-line wrapper under torchrun: the
    SR example's model, loss and metric on 2 CPU processes (resuming is tested above)."""
    (tmp_path / 'train.py').write_text(TRAIN_SCRIPT)
    (tmp_path / 'sr.yml').write_text(SR_OPTIONS.format(name='sr_dist', data=sr_data, iters=2))
    torchrun(['train.py', '-opt', 'sr.yml'], tmp_path, tmp_path / 'logs')
    root = tmp_path / 'experiments' / 'sr_dist'
    text = run_log(root)
    assert 'World size (gpu number): 2' in text
    assert 'l_panda' in text and 'PANDA sr_val @ 2' in text and re.search(r'# panda: 0\.\d+', text)
    # 4 images, batch 2: iteration 2 ends the second epoch only if each rank got 2 of them
    with torch.serialization.safe_globals([collections.Counter]):
        state = torch.load(root / 'training_states' / '2.state', weights_only=True)
    assert (state['iter'], state['epoch']) == (2, 1)
    assert (root / 'visualization' / 'astronaut' / 'astronaut_2_panda.json').is_file()
    assert (root / 'models' / 'net_g_2.pth').is_file()
    assert len(list((tmp_path / 'tb_logger' / 'sr_dist').glob('events.*'))) == 1  # rank 0's
    assert 'Start training' in rank_output(tmp_path / 'logs', 0)
    assert 'INFO' not in rank_output(tmp_path / 'logs', 1)
