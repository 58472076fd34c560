"""``panda train`` of a tiny PANDA: checkpoints, validation, and a resume that continues the run."""
import re

import numpy as np
import pytest
from training_runs import assert_resumed_like_uninterrupted, training_state

from panda_plugin.adapters.cli import main

OPTIONS = """
name: {name}
model_type: PandaModel
num_gpu: 0
manual_seed: 0
datasets:
  train:
    name: tiny_train
    type: PandaSetDataset
    dataroot: {data}
    use_hflip: false
    use_rot: false
    num_worker_per_gpu: 0
    batch_size_per_gpu: {batch}
    dataset_enlarge_ratio: 1
    prefetch_mode: ~
  val:
    name: tiny_val
    type: PandaSetDataset
    dataroot: {data}
network_g:
  type: PANDA
  encoder: mobilenetv3_small_100
  input_size: 64
  dim: 32
  blocks: 1
  heads: 2
path:
  pretrain_network_g: ~
  resume_state: ~
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
    srcc: {{better: higher}}
logger:
  print_freq: 1
  save_checkpoint_freq: 2
  use_tb_logger: false
dist_params: {{backend: gloo, port: 29500}}
"""


@pytest.fixture()
def one_pair(image_folder, tmp_path):
    """A database of one pair (the first of four shards of ``image_folder``, one pair per image)."""
    from panda_plugin.engine.panda.data.builder import BuildSettings, make_dataset

    out = tmp_path / 'one.lmdb'
    report = make_dataset(image_folder, out, BuildSettings(pairs_per_image=1, size=64, seed=3, shard=(0, 4)),
                          progress=False)
    assert report.records == 1
    return out


def run(tmp_path, data, name, iters, batch=1):
    options = tmp_path / f'{name}_{iters}.yml'
    options.write_text(OPTIONS.format(name=name, data=data, iters=iters, batch=batch))
    assert main(['train', '-opt', str(options), '--auto_resume']) == 0
    return tmp_path / 'experiments' / name


@pytest.mark.slow
def test_a_resumed_run_ends_as_the_uninterrupted_run(one_pair, tmp_path, monkeypatch):
    """One pair, one batch per epoch (see ``training_runs``): 2 iterations, a resume to 4, and 4 in one go."""
    monkeypatch.chdir(tmp_path)
    root = run(tmp_path, one_pair, 'tiny', 2)
    assert (root / 'models' / 'net_g_2.pth').is_file() and training_state(root, 2)['iter'] == 2
    run(tmp_path, one_pair, 'tiny', 4)
    text = '\n'.join(log.read_text() for log in root.glob('train_tiny_*.log'))
    assert re.search(r'Resuming training from epoch: \d+, iter: 2', text)
    assert 'Validation tiny_val @ 4' in text
    assert_resumed_like_uninterrupted(root, run(tmp_path, one_pair, 'whole', 4), resumed_at=2, last=4)


@pytest.mark.slow
def test_export_weights_command_turns_a_trained_checkpoint_into_weights(one_pair, tmp_path, monkeypatch, capsys):
    """README: ``panda train``, ``panda export-weights``, then ``panda compare --weights``."""
    import torch

    from panda_plugin import DistortionGraph, compare
    from panda_plugin.engine.image_io import save_image
    from panda_plugin.engine.panda.weights import load_model

    monkeypatch.chdir(tmp_path)
    root = run(tmp_path, one_pair, 'tiny', 2)
    checkpoint, out = root / 'models' / 'net_g_latest.pth', tmp_path / 'tiny.safetensors'
    assert main(['export-weights', str(checkpoint), '--opt', str(tmp_path / 'tiny_2.yml'), '--out', str(out)]) == 0
    assert f'wrote {out}' in capsys.readouterr().out
    network = load_model(out)
    assert network.panda_config == {'encoder': 'mobilenetv3_small_100', 'input_size': 64, 'dim': 32, 'blocks': 1,
                                    'heads': 2}
    trained = torch.load(checkpoint, weights_only=True)['params']
    assert network.state_dict().keys() == trained.keys()
    assert all(torch.equal(value, trained[key]) for key, value in network.state_dict().items())
    images = np.random.default_rng(0).integers(0, 256, (2, 48, 48, 3), dtype=np.uint8)
    for name, image in zip(('a.png', 'b.png'), images):
        save_image(tmp_path / name, image)
    assert main(['compare', 'a.png', 'b.png', '--weights', str(out), '--segmenter', 'grid:2x2', '--pairwise',
                 '--json', 'graph.json']) == 0
    graph = DistortionGraph.from_json(tmp_path / 'graph.json')
    assert graph.metadata['weights'] == 'tiny'
    expected = compare(images[0], images[1], segmenter='grid:2x2', model=network, pairwise=True)
    assert [(r.anchor, r.target, r.relation) for r in graph.regions] == \
        [(r.anchor, r.target, r.relation) for r in expected.regions]
    assert main(['export-weights', str(checkpoint), '--opt', str(tmp_path / 'tiny_2.yml'), '--out', 'tiny.pt']) == 2
    assert "output 'tiny.pt' must end with .safetensors" in capsys.readouterr().err


@pytest.mark.slow
def test_trainable_prefixes_train_only_the_distortion_head(one_pair, tmp_path, monkeypatch):
    """``train.trainable: [heads.distortion]``: every other tensor, batch-norm statistics included,
    stays as in the starting weights."""
    import torch

    monkeypatch.chdir(tmp_path)
    start = run(tmp_path, one_pair, 'start', 2) / 'models' / 'net_g_2.pth'
    options = tmp_path / 'head.yml'
    options.write_text(OPTIONS.format(name='head', data=one_pair, iters=2, batch=1)
                       .replace('pretrain_network_g: ~', f'pretrain_network_g: {start}')
                       .replace('  warmup_iter: -1', '  warmup_iter: -1\n  trainable: [heads.distortion]'))
    assert main(['train', '-opt', str(options)]) == 0
    before = torch.load(start, weights_only=True)['params']
    after = torch.load(tmp_path / 'experiments' / 'head' / 'models' / 'net_g_2.pth', weights_only=True)['params']
    changed = {key for key, value in after.items() if not torch.equal(value, before[key])}
    assert changed and all(key.startswith('heads.distortion.') for key in changed)
    assert any(key.startswith('encoder.') and 'running_mean' in key for key in before)
    options.write_text(options.read_text().replace('[heads.distortion]', '[heads.typo]'))
    assert main(['train', '-opt', str(options)]) == 2
