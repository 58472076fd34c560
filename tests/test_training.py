import collections
import re

import pytest
import torch

from panda_plugin.adapters.cli import main

OPTIONS = """
name: tiny
model_type: PandaModel
num_gpu: 0
manual_seed: 0
datasets:
  train:
    name: tiny_train
    type: PandaSetDataset
    dataroot: {data}
    num_worker_per_gpu: 0
    batch_size_per_gpu: 2
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


def run(tmp_path, data, iters):
    options = tmp_path / f'tiny_{iters}.yml'
    options.write_text(OPTIONS.format(data=data, iters=iters))
    assert main(['train', '-opt', str(options), '--auto_resume']) == 0
    return (tmp_path / 'experiments' / 'tiny').glob('train_tiny_*.log')


@pytest.mark.slow
def test_two_iterations_write_a_checkpoint_and_resume(tiny_bench, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run(tmp_path, tiny_bench, 2)
    root = tmp_path / 'experiments' / 'tiny'
    assert (root / 'models' / 'net_g_2.pth').is_file()
    with torch.serialization.safe_globals([collections.Counter]):
        state = torch.load(root / 'training_states' / '2.state', weights_only=True)
    assert state['iter'] == 2
    logs = list(run(tmp_path, tiny_bench, 4))
    text = '\n'.join(log.read_text() for log in logs)
    assert re.search(r'Resuming training from epoch: \d+, iter: 2', text)
    assert 'Validation tiny_val @ 4' in text
    assert (root / 'models' / 'net_g_4.pth').is_file()
