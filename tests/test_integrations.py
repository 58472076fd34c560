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
    for mode in ('region', 'score', 'texture'):
        restored = tensor(damaged).requires_grad_()
        value = PandaRegionLoss(mode=mode, loss_weight=0.5)(restored, tensor(reference))
        value.backward()
        assert value.ndim == 0 and torch.isfinite(value) and torch.isfinite(restored.grad).all()
    with pytest.raises(PandaInputError, match="panda_opt.mode = 'pixel'; accepted: region, score, texture"):
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
    panda: {{type: calculate_panda, crop_border: 0}}
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
def test_sr_training_logs_graphs_to_tensorboard(sr_data, tmp_path, monkeypatch):
    """Two runs (to iteration 2, then resumed to 5), read back from the event files."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.chdir(tmp_path)
    root, logs = tmp_path / 'experiments' / 'sr_tiny', []
    for iters in (2, 5):
        options = tmp_path / f'sr_{iters}.yml'
        options.write_text(SR_OPTIONS.format(data=sr_data, iters=iters).replace('worst_regions: 3}', 'worst_regions: 3, region_curves: 12}'))
        assert main(['train', '-opt', str(options), '--auto_resume']) == 0
        # read now: BasicSR names logs by the second, so a run in the same second replaces the log
        logs.append(max(root.glob('train_sr_tiny_*.log'), key=lambda p: p.stat().st_mtime_ns).read_text())
    assert (root / 'models' / 'net_g_4.pth').is_file()
    logs = '\n'.join(logs)
    assert re.search(r'Resuming training from epoch: \d+, iter: 2', logs)
    # 4 training images in batches of 2: BasicSR's loop ends counting 3 (first run) and 6
    # (second run); its last validations carry the last iterations, 2 and 5, and the
    # repeated one at 2 makes no second set of graphs
    assert 'l_panda' in logs and re.findall(r'PANDA sr_val @ (\d+)', logs) == ['2', '4', '5']
    assert not re.search(r'@ [36]\b', logs)
    # graphs per step in validation order (the order in which they were written)
    files = {step: sorted((root / 'visualization').rglob(f'*_{step}_panda.json'), key=lambda p: p.stat().st_mtime_ns)
             for step in (2, 4, 5)}
    graphs = {step: [panda_plugin.DistortionGraph.from_json(p) for p in paths] for step, paths in files.items()}
    assert [len(g) for g in graphs.values()] == [2, 2, 2] and graphs[5][0].image_size == (64, 64)

    events = EventAccumulator(str(tmp_path / 'tb_logger' / 'sr_tiny'),
                              size_guidance={'images': 0, 'scalars': 0, 'tensors': 0}).Reload()
    tags = events.Tags()
    # BasicSR's calculate_panda (crop_border 0) and the monitor's graphs give one number
    for step, step_graphs in graphs.items():
        logged = [e.value for e in events.Scalars('metrics/sr_val/panda') if e.step == step]
        assert logged and all(v == pytest.approx(np.mean([g.anchor_score for g in step_graphs]), abs=1e-6)
                              for v in logged)
    # region curves: the first 12 regions in validation order, the scores of the graphs
    names = [p.name.split('_')[0] for p in files[5]]
    expected = [(name, region) for name, graph in zip(names, graphs[5]) for region in graph.regions][:12]
    curves = sorted(t for t in tags['scalars'] if re.fullmatch(r'panda/sr_val/\w+/region_\d+', t))
    assert curves == sorted(f'panda/sr_val/{name}/region_{region.id}' for name, region in expected)
    for name, region in expected:
        by_step = {e.step: e.value for e in events.Scalars(f'panda/sr_val/{name}/region_{region.id}')}
        assert sorted(by_step) == [2, 4, 5] and by_step[5] == pytest.approx(region.anchor.score, abs=1e-6)
    assert 'custom_scalars__config__' in tags['tensors']
    # area curves only for the distortions that covered some area
    seen = {name for step_graphs in graphs.values() for g in step_graphs
            for name, share in g.distortion_areas('anchor').items() if share > 0}
    assert {t.split('/')[-1] for t in tags['scalars'] if t.startswith('panda/sr_val/area/')} == seen
    assert 'panda/sr_val/region_scores' in tags['histograms']
    pictures = [tag for tag in tags['images'] if tag.startswith('panda/sr_val/graph/')]
    assert len(pictures) == 1 and pictures[0].split('/')[-1] in ('astronaut', 'camera')
    picture = events.Images(pictures[0])[-1]
    # three 64-px panels enlarged 6 times, nearest neighbour: 384 px each
    assert (picture.width, picture.step) == (3 * 384 + 4 * 8, 5) and 400 < picture.height < 500
    assert any('worst_regions' in tag for tag in tags['tensors'])


@pytest.mark.slow
def test_sr_training_resumes_like_an_uninterrupted_run(sr_data, tmp_path, monkeypatch):
    """A run stopped at iteration 2 and resumed to 4 ends where an uninterrupted run to 4 ends."""
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


def test_graph_board_events_read_back(references, tmp_path):
    """Two validation passes through a real SummaryWriter, read back with EventAccumulator."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.custom_scalar import layout_pb2
    from torch.utils.tensorboard import SummaryWriter

    from panda_plugin.adapters.tensorboard import GraphBoard, ValidatedImage

    reference = cv2.resize(references[0], (96, 96), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    noisy = np.clip(reference + rng.normal(0, 25, reference.shape), 0, 255).astype(np.uint8)
    passes = {10: [('noisy', noisy), ('same', reference)], 20: [('noisy', reference), ('same', reference)]}
    board = GraphBoard(pictures=1, worst_regions=4, region_curves=5)
    writer = SummaryWriter(str(tmp_path))
    graphs = {}
    for step, images in passes.items():
        validated = []
        for name, restored in images:
            graph = panda_plugin.compare(restored, reference)
            graphs[step, name] = graph
            validated.append(ValidatedImage(name, graph, restored, reference))
        board.write(writer, 'val', step, validated)
    writer.close()
    events = EventAccumulator(str(tmp_path), size_guidance={'images': 0, 'scalars': 0, 'tensors': 0}).Reload()
    scalars = set(events.Tags()['scalars'])
    # the first 5 regions of the first image; the second image gets none
    assert {t for t in scalars if '/region_' in t} == {f'panda/val/noisy/region_{i}{number}' for i in range(5)
                                                       for number in ('', '/texture')}
    for step in passes:
        assert events.Scalars('panda/val/noisy/region_3')[list(passes).index(step)].value == pytest.approx(
            graphs[step, 'noisy'].regions[3].anchor.score, abs=1e-6)
    assert events.Scalars('metrics/val/panda')[1].value == pytest.approx(1.0)
    # area curves for the distortions that appeared (clean and what the noise is named), one
    # that is gone going on at 0
    seen = {n for g in graphs.values() for n, share in g.distortion_areas('anchor').items() if share > 0}
    assert 'clean' in seen and 2 <= len(seen) < len(panda_plugin.DISTORTIONS)
    assert {t.rsplit('/', 1)[1] for t in scalars if t.startswith('panda/val/area/')} == seen
    for name in seen - {'clean'}:
        assert [e.value for e in events.Scalars(f'panda/val/area/{name}')][1] == 0.0
    assert [e.value for e in events.Scalars('panda/val/area/clean')][1] == 1.0
    layout = layout_pb2.Layout()
    layout.ParseFromString(events.Tensors('custom_scalars__config__')[-1].tensor_proto.string_val[0])
    charts = {chart.title: list(chart.multiline.tag) for category in layout.category for chart in category.chart}
    assert charts == {'noisy: score per region': [r'^panda/val/noisy/region_\d+$'],
                      'noisy: texture per region': [r'^panda/val/noisy/region_\d+/texture$']}
    picture = events.Images('panda/val/graph/noisy')[0]
    assert (picture.width, picture.height) == (3 * 384 + 4 * 8, 26 + 20 + 384 + 8 + 34)
    table = events.Tensors('panda/val/worst_regions/text_summary')[0].tensor_proto.string_val[0].decode()
    assert table.count('\n| noisy |') == 4
