"""pyiqa metric ``panda``, BasicSR metric and loss, and PandaSRModel's region monitoring."""
import re
import subprocess
import sys

import cv2
import numpy as np
import pyiqa
import pytest
import torch
from training_runs import assert_resumed_like_uninterrupted, one_image_per_epoch

import panda_plugin
from panda_plugin.adapters.basicsr.metric import calculate_panda
from panda_plugin.adapters.cli import main
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.distortions import degrade_regions
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.region_loss import PandaRegionLoss


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode('.jpg', image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1]


def tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255


@pytest.fixture(scope='module')
def metric():
    return pyiqa.create_metric('panda', device='cpu')


@pytest.fixture(scope='module')
def references():
    return [square_crop(packaged_image('skimage', name), 192) for name in ('coffee', 'rocket')]


def test_scores_fall_as_jpeg_quality_drops(metric, references):
    assert metric.lower_better is False
    for reference in references:
        scores = [float(metric(tensor(jpeg(reference, q)), tensor(reference))) for q in (90, 30, 10, 3)]
        assert all(0 <= s <= 1 for s in scores)
        assert scores == sorted(scores, reverse=True), scores
        assert scores[0] - scores[-1] > 0.2


def test_batches_paths_and_graphs(metric, references, tmp_path):
    restored = torch.cat([tensor(jpeg(r, 10)) for r in references])
    reference = torch.cat([tensor(r) for r in references])
    batch = metric(restored, reference)
    assert batch.shape == (2,)
    single = [float(metric(restored[i:i + 1], reference[i:i + 1])) for i in range(2)]
    assert np.allclose(batch.numpy(), single, atol=1e-6)
    cv2.imwrite(str(tmp_path / 'restored.png'), jpeg(references[0], 10)[:, :, ::-1])
    cv2.imwrite(str(tmp_path / 'reference.png'), references[0][:, :, ::-1])
    from_files = float(metric(str(tmp_path / 'restored.png'), str(tmp_path / 'reference.png')))
    assert from_files == pytest.approx(single[0], abs=1e-6)
    scores, graphs = metric(restored, reference, return_graph=True)
    assert [g.anchor_score for g in graphs] == pytest.approx(scores.tolist(), abs=1e-6)
    assert all(r.target.distortion in panda_plugin.DISTORTIONS for g in graphs for r in g.regions)


def test_as_loss_gives_finite_gradients(references):
    loss_metric = pyiqa.create_metric('panda', as_loss=True, device='cpu')
    restored = tensor(jpeg(references[0], 10)).requires_grad_()
    score = loss_metric(restored, tensor(references[0]))
    (1 - score).backward()
    assert restored.grad is not None and torch.isfinite(restored.grad).all() and restored.grad.abs().sum() > 0


def test_registration_when_pyiqa_is_imported_first():
    code = ('import pyiqa, panda_plugin\n'
            'print(pyiqa.create_metric("panda", device="cpu", segmenter="grid:2x2").net.segmenter)')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'GridSegmenter' in done.stdout


def test_basicsr_metric_equals_the_pyiqa_metric(metric, references):
    reference = references[0]
    restored = jpeg(reference, 10)
    expected = float(metric(tensor(restored), tensor(reference)))
    bgr = calculate_panda(restored[:, :, ::-1].copy(), reference[:, :, ::-1].copy(), crop_border=0, better='higher')
    assert bgr == pytest.approx(expected, abs=1e-6)
    chw = calculate_panda(restored[:, :, ::-1].transpose(2, 0, 1), reference[:, :, ::-1].transpose(2, 0, 1),
                          crop_border=0, input_order='CHW')
    assert chw == pytest.approx(expected, abs=1e-6)
    with pytest.raises(PandaInputError, match="unknown calculate_panda option 'crop_borders' \\(did you mean 'crop_border'\\?\\)"):
        calculate_panda(restored, reference, crop_border=0, crop_borders=4)


def test_region_loss_weights_the_damaged_region_and_has_gradients(references):
    reference = references[0]
    halves = np.zeros(reference.shape[:2], np.int32)
    halves[:, 96:] = 1
    damaged = degrade_regions(reference, halves, [[('blur', 'severe')], []], seed=0)
    loss = PandaRegionLoss(segmenter='grid:1x2')
    weights = loss.pixel_weights(tensor(damaged), tensor(reference))
    assert weights.shape == (1, 1, 192, 192)
    assert float(weights.mean()) == pytest.approx(1.0, abs=1e-5)
    assert float(weights[..., :96].mean()) > float(weights[..., 96:].mean())
    for mode in ('region', 'score'):
        restored = tensor(damaged).requires_grad_()
        value = PandaRegionLoss(mode=mode, loss_weight=0.5)(restored, tensor(reference))
        value.backward()
        assert value.ndim == 0 and torch.isfinite(value) and torch.isfinite(restored.grad).all()
    with pytest.raises(PandaInputError, match="panda_opt.mode = 'pixel'; accepted: region, score"):
        PandaRegionLoss(mode='pixel')


SR_OPTIONS = """
name: sr_tiny
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
  panda_opt: {{type: PandaRegionLoss, mode: score}}
val:
  val_freq: 2
  save_img: true
  metrics:
    psnr: {{type: calculate_psnr, crop_border: 4}}
  panda: {{pictures: 1, worst_regions: 3}}
logger:
  print_freq: 1
  save_checkpoint_freq: 2
  use_tb_logger: true
dist_params: {{backend: gloo, port: 29500}}
"""


@pytest.fixture(scope='module')
def sr_data(image_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp('sr') / 'data'
    assert main(['make-sr-data', '--images', str(image_folder), '--val-images', str(image_folder),
                 '--val-count', '2', '--out', str(out), '--size', '64', '--val-size', '64']) == 0
    assert len(list((out / 'train' / 'HR').glob('*.png'))) == 4
    assert len(list((out / 'val' / 'LR_bicubic' / 'X4').glob('*.png'))) == 2
    return out


@pytest.mark.slow
def test_sr_training_logs_graphs_to_tensorboard_and_resumes(sr_data, tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.chdir(tmp_path)
    for name, iters in (('sr_tiny', 2), ('sr_tiny', 4), ('sr_whole', 4)):
        options = tmp_path / f'{name}_{iters}.yml'
        options.write_text(one_image_per_epoch(SR_OPTIONS.format(data=sr_data, iters=iters), name))
        assert main(['train', '-opt', str(options), '--auto_resume']) == 0
    root = tmp_path / 'experiments' / 'sr_tiny'
    assert_resumed_like_uninterrupted(root, tmp_path / 'experiments' / 'sr_whole', resumed_at=2, last=4)
    assert (root / 'models' / 'net_g_4.pth').is_file()
    logs = '\n'.join(p.read_text() for p in root.glob('train_sr_tiny_*.log'))
    assert re.search(r'Resuming training from epoch: \d+, iter: 2', logs)
    assert 'l_panda' in logs and 'PANDA sr_val @ 4' in logs
    graphs = {p.name for p in (root / 'visualization').rglob('*_panda.json')}
    assert {f'{name}_{i}_panda.json' for name in ('astronaut', 'camera') for i in (2, 4)} <= graphs
    graph = panda_plugin.DistortionGraph.from_json(next((root / 'visualization').rglob('*_4_panda.json')))
    assert graph.image_size == (64, 64)
    events = EventAccumulator(str(tmp_path / 'tb_logger' / 'sr_tiny'), size_guidance={'images': 0}).Reload()
    tags = events.Tags()
    assert {'metrics/sr_val/panda', 'panda/sr_val/area/clean', 'panda/sr_val/area/blur',
            'losses/l_panda'} <= set(tags['scalars'])
    assert {2, 4} <= {e.step for e in events.Scalars('metrics/sr_val/panda')}
    assert 'panda/sr_val/region_scores' in tags['histograms']
    pictures = [tag for tag in tags['images'] if tag.startswith('panda/sr_val/graph/')]
    assert len(pictures) == 1 and pictures[0].split('/')[-1] in ('astronaut', 'camera')
    assert any('worst_regions' in tag for tag in tags['tensors'])
