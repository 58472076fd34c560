"""Tests for the second-stage panoptic segmenter: pseudo-labels, loss, grouping, specs, CLI."""
from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
import torch
from skimage import data
from training_runs import assert_losses_fall

import panda_plugin
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.masks import MIN_REGION_AREA
from panda_plugin.engine.points.learned import export_point_weights
from panda_plugin.engine.points.models.panoptic_arch import PanopticSegmenterNet
from panda_plugin.engine.points.models.panoptic_loss import PanopticEmbeddingLoss, instance_borders
from panda_plugin.engine.points.panoptic import PanopticSegmenter, component_centres
from panda_plugin.engine.regions import build_segmenter


@pytest.fixture(scope='module')
def tiny_weights(tmp_path_factory):
    """An untrained small segmenter, exported as a weights file."""
    torch.manual_seed(0)
    network = PanopticSegmenterNet(width=8, embed_dim=4, input_size=64)
    return export_point_weights(network, tmp_path_factory.mktemp('weights') / 'tiny.safetensors')


def _assert_partition(labels: np.ndarray, shape: tuple, max_regions: int = 40) -> int:
    assert labels.dtype == np.int32 and labels.shape == shape
    count = int(labels.max()) + 1
    assert 1 <= count <= max_regions
    areas = np.bincount(labels.ravel(), minlength=count)
    assert labels.min() == 0 and (areas > 0).all()  # every pixel covered, no empty region
    return count


@pytest.mark.parametrize('shape', [(48, 64, 3), (130, 90, 3), (7, 9, 3)])
def test_segmenter_covers_every_pixel_and_respects_limits(tiny_weights, shape):
    image = cv2.resize(data.astronaut(), shape[1::-1], interpolation=cv2.INTER_AREA)
    segmenter = PanopticSegmenter(tiny_weights, max_regions=5)
    labels = segmenter(image)
    count = _assert_partition(labels, shape[:2], max_regions=5)
    areas = np.bincount(labels.ravel())
    if count > 1:
        assert areas.min() >= max(MIN_REGION_AREA, 0.005 * labels.size)
    assert np.array_equal(segmenter(image), labels)  # deterministic


def discs() -> tuple[np.ndarray, np.ndarray]:
    """Three flat discs over a background, with noise, and their instance map (0: background)."""
    image = np.zeros((96, 96, 3), np.uint8)
    image[:] = (70, 120, 200)
    truth = np.zeros((96, 96), np.int32)
    for index, (centre, colour) in enumerate((((26, 30), (220, 60, 40)), ((68, 34), (40, 180, 60)),
                                              ((48, 75), (230, 220, 60)))):
        disc = cv2.circle(np.zeros((96, 96), np.uint8), centre, 15, 1, -1) > 0
        image[disc], truth[disc] = colour, index + 1
    return np.clip(image + np.random.default_rng(0).normal(0, 6, image.shape), 0, 255).astype(np.uint8), truth


def _assert_instances(labels: np.ndarray, truth: np.ndarray) -> list:
    """Each instance of ``truth`` is one region of ``labels`` (IoU >= 0.9); returns their ids."""
    assert int(labels.max()) + 1 == int(truth.max()) + 1
    found = []
    for instance in range(int(truth.max()) + 1):
        inside = truth == instance
        region = np.bincount(labels[inside]).argmax()
        iou = (inside & (labels == region)).sum() / (inside | (labels == region)).sum()
        assert iou >= 0.9, (instance, iou)
        found.append(int(region))
    assert sorted(found) == list(range(len(found)))
    return found


def test_shipped_segmenter_finds_objects():
    """Three flat discs over a background (with noise) come out as four whole instances."""
    from panda_plugin.engine.points.panoptic_quality import panoptic_quality

    image, truth = discs()
    labels = build_segmenter('panoptic')(image)
    _assert_instances(labels, truth)
    assert _assert_partition(labels, image.shape[:2]) == 4
    assert panoptic_quality([labels], [truth])['rq'] == 100


def test_component_centres_merge_parts_of_one_instance():
    embeddings = np.zeros((20, 30, 2))
    embeddings[:, 10:20] = 5.0  # a thing in the middle column band, over one stuff area
    embeddings[:, 10:20, 1] = 0.3
    boundary = np.full((20, 30), 0.1)
    boundary[:, [9, 10, 19, 20]] = 0.9  # its borders split the stuff into two components
    boundary[5, 25] = 0.9
    centres = component_centres(embeddings, boundary, bandwidth=1.5, boundary_threshold=0.5, min_seed=5)
    assert len(centres) == 2  # left and right stuff parts are one instance
    assert np.allclose(sorted(centres[:, 0]), [0, 5])
    boundary[:] = 1.0  # no interior at all: one region
    assert len(component_centres(embeddings, boundary, 1.5, 0.5, 5)) == 1


def test_loss_prefers_embeddings_that_follow_the_pseudo_labels():
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[:, :, 8:] = 1
    good = torch.zeros(1, 2, 16, 16)
    good[:, 0, :, 8:] = 3.0
    boundary = torch.where(instance_borders(labels)[:, None], 5.0, -5.0)
    loss = PanopticEmbeddingLoss()
    low, terms = loss(good, boundary, labels)
    high, _ = loss(torch.flip(good, [3]) * 0, -boundary, labels)
    assert float(terms['l_pull']) == 0 and float(terms['l_push']) == 0
    assert float(low) < float(high)
    assert instance_borders(labels)[0].sum() == 32  # columns 7 and 8


def test_pseudo_labels_follow_crops_and_flips(tmp_path, monkeypatch):
    import panda_plugin.engine.points.points_data as points_data
    from panda_plugin.engine.points.points_dataset import PointsDataset
    from panda_plugin.engine.points.pseudo_labels import make_pseudo_labels, read_pseudo_labels

    monkeypatch.setattr(points_data, 'split_photos', lambda split: [np.full((80, 80, 3), 90, np.uint8)])
    path = tmp_path / 'scenes.lmdb'
    points_data.make_points_data(path, points_data.PointsSettings(count=4, size=48), progress=False)
    out = make_pseudo_labels(path, tmp_path / 'pseudo.npz', method='euclidean', progress=False)
    pseudo = read_pseudo_labels(out)
    reader = points_data.PointsReader(path)
    for index in range(len(reader)):
        scene = reader.read(index)
        labels = pseudo[scene['key']]
        assert labels.shape == scene['panoptic'].shape
        assert [labels[y, x] for x, y in scene['points']] == list(range(len(scene['points'])))
    dataset = PointsDataset({'dataroot': str(path), 'pseudo_labels': str(out), 'crop_size': 32, 'seed': 1})
    for index in range(len(dataset)):
        item = dataset[index]
        count = int(item['valid'].sum())
        clicked = [int(item['pseudo'][int(y), int(x)]) for x, y in item['points'][:count].tolist()]
        assert item['pseudo'].shape == (32, 32) and len(set(clicked)) == count
    with pytest.raises(PandaInputError, match='.npz'):
        make_pseudo_labels(path, tmp_path / 'pseudo.txt')
    with pytest.raises(PandaInputError, match='make-pseudo-labels'):
        read_pseudo_labels(tmp_path / 'missing.npz')


def test_bad_specs_and_options(tiny_weights, tmp_path):
    assert isinstance(build_segmenter(f'panoptic:{tiny_weights}', max_regions=3), PanopticSegmenter)
    with pytest.raises(PandaInputError, match='names no weights'):
        build_segmenter('panoptic:')
    with pytest.raises(PandaInputError, match="'nowhere.safetensors' not found"):
        build_segmenter('panoptic:nowhere.safetensors')
    with pytest.raises(PandaInputError, match='max_regions=0'):
        PanopticSegmenter(tiny_weights, max_regions=0)
    with pytest.raises(PandaInputError, match='min_area'):
        build_segmenter('panoptic', min_area=1.5)
    with pytest.raises(PandaInputError, match="'panoptic' or 'panoptic:WEIGHTS'"):
        build_segmenter('panoptics')


def test_cli_compare_with_panoptic_segmenter(tmp_path):
    """The second disc blurred inside its own outline: four regions, the disc's region well below
    1 and every region without a changed pixel exactly 1."""
    from panda_plugin.adapters.cli import main
    from panda_plugin.engine.image_io import save_image

    reference, truth = discs()
    restored = np.where((truth == 2)[..., None], cv2.GaussianBlur(reference, (0, 0), 2), reference)
    save_image(tmp_path / 'ref.png', reference)
    save_image(tmp_path / 'out.png', restored)
    out = tmp_path / 'graph.json'
    assert main(['compare', str(tmp_path / 'out.png'), str(tmp_path / 'ref.png'),
                 '--segmenter', 'panoptic', '--json', str(out)]) == 0
    graph = panda_plugin.DistortionGraph.from_json(out)
    ids = _assert_instances(graph.label_map, truth)
    assert graph.regions[ids[2]].anchor.score < 0.95
    changed = (restored != reference).any(-1)
    untouched = [region for region in graph.regions if not changed[graph.label_map == region.id].any()]
    assert len(untouched) >= 2 and all(region.anchor.score == 1.0 for region in untouched)


def test_cli_regions_without_clicks(tmp_path, capsys):
    from panda_plugin.adapters.cli import main
    from panda_plugin.engine.image_io import save_image

    image, truth = discs()
    save_image(tmp_path / 'photo.png', image)
    out = tmp_path / 'labels.png'
    assert main(['regions', str(tmp_path / 'photo.png'), '--segmenter', 'panoptic',
                 '--out', str(out), '--viz', str(tmp_path / 'viz.png')]) == 0
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint16   # value i + 1 for region i
    _assert_instances(written.astype(np.int32) - 1, truth)
    assert cv2.imread(str(tmp_path / 'viz.png')).shape[:2] == (96, 96)
    assert main(['regions', str(tmp_path / 'photo.png'), '--out', str(out)]) == 2
    assert main(['regions', str(tmp_path / 'photo.png'), '--points', '3,4', '--segmenter', 'grid',
                 '--out', str(out)]) == 2
    assert 'exactly one of --points' in capsys.readouterr().err


TRAIN_OPTIONS = """
name: panoptic_tiny_test
model_type: PanopticSegmenterModel
num_gpu: 0
manual_seed: 0
datasets:
  train:
    name: scenes
    type: PointsDataset
    dataroot: {data}
    pseudo_labels: {pseudo}
    use_hflip: false
    use_rot: false
    num_worker_per_gpu: 0
    batch_size_per_gpu: 3
    dataset_enlarge_ratio: 1
    prefetch_mode: ~
  val:
    name: scenes_val
    type: PointsDataset
    dataroot: {data}
network_g: {{type: PanopticSegmenterNet, width: 8, embed_dim: 4, input_size: 48}}
path: {{pretrain_network_g: {init}, strict_load_g: true, resume_state: ~}}
train:
  optim_g: {{type: AdamW, lr: !!float 1e-3}}
  scheduler: {{type: MultiStepLR, milestones: [100], gamma: 0.5}}
  total_iter: 6
  warmup_iter: -1
  loss_opt: {{type: PanopticEmbeddingLoss}}
val:
  val_freq: 6
  save_img: false
  metrics: {{pq: {{better: higher}}}}
logger: {{print_freq: 1, save_checkpoint_freq: 6, use_tb_logger: false}}
dist_params: {{backend: gloo, port: 29500}}
"""


def test_panda_train_fits_the_segmenter_on_pseudo_labels(tmp_path, train_on_pseudo_scenes):
    """Six steps on one fixed batch (the three scenes and their pseudo-labels, uncropped) from a
    known start: the embedding loss falls, and the exported segmenter is the trained network."""
    from panda_plugin.adapters.cli import main
    from panda_plugin.engine.points.learned import load_point_model

    torch.manual_seed(0)
    init = tmp_path / 'init.pth'
    start = PanopticSegmenterNet(width=8, embed_dim=4, input_size=48).state_dict()
    torch.save({'params': start}, init)
    root, options, log = train_on_pseudo_scenes(TRAIN_OPTIONS.replace('{init}', str(init)), 'panoptic_tiny_test')
    assert_losses_fall(root, ('l_total', 'l_push'))
    assert 'l_boundary' in log and re.search(r'Validation scenes_val @ 6: pq: \d', log)
    out = tmp_path / 'panoptic.safetensors'
    assert main(['export-point-weights', str(root / 'models' / 'net_g_6.pth'), '--opt', str(options),
                 '--out', str(out)]) == 0
    trained = torch.load(root / 'models' / 'net_g_6.pth', weights_only=True)['params']
    exported = load_point_model(out, PanopticSegmenterNet).state_dict()
    assert exported.keys() == trained.keys() == start.keys()
    assert all(torch.equal(value, trained[key]) for key, value in exported.items())
    assert any(value.is_floating_point() and not torch.equal(value, start[key]) for key, value in trained.items())
    _assert_partition(PanopticSegmenter(out)(data.astronaut()), (512, 512))