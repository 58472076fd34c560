"""Tests for the click distance over a learned border cost: network, click-only loss, BasicSR model."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from training_runs import assert_losses_fall

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.points.models.boundary_arch import ClickBoundaryNet
from panda_plugin.engine.points.models.separation_loss import ClickSeparationLoss, click_paths, uniform_colour


def _scene(seed: int = 4, size: int = 48):
    from panda_plugin.engine.points.scenes import make_scene

    scene = make_scene(np.random.default_rng(seed), size, 'procedural', [])
    image = torch.from_numpy(scene['image']).permute(2, 0, 1)[None].float() / 255
    points = torch.from_numpy(scene['points']).float()[None]
    return scene, image, points, torch.ones(points.shape[:2], dtype=torch.bool)


def test_click_paths_go_through_the_gap_of_a_wall():
    cost = np.ones((20, 20))
    cost[:, 10] = 1000.0
    cost[15, 10] = 1.0  # the gap
    paths = click_paths(cost, np.array([[2, 2], [17, 2], [17, 4]]))
    assert len(paths) == 3  # pairs (0, 1), (0, 2), (1, 2)
    first = np.unravel_index(paths[0], cost.shape)
    assert (15, 10) in set(zip(*first))  # across the wall only through the gap
    assert (first[0][0], first[1][0]) == (2, 2) and (first[0][-1], first[1][-1]) == (2, 17)
    assert not (cost.ravel()[paths[2]] > 1).any()  # both clicks on one side: no wall crossed


def test_uniform_colour_marks_flat_pixels_only():
    image = torch.zeros(1, 3, 12, 12)
    image[..., 6:] = 1.0  # a vertical edge between columns 5 and 6
    uniform = uniform_colour(image, 0.3)[0]
    assert uniform[:, :5].all() and uniform[:, 7:].all()
    assert not uniform[:, 5:7].any()


def test_separation_term_raises_borders_on_the_cheapest_path_only():
    image = torch.full((1, 3, 16, 16), 0.5)
    points = torch.tensor([[[2.0, 8.0], [13.0, 8.0]]])
    valid = torch.ones(1, 2, dtype=torch.bool)
    logits = torch.zeros(1, 1, 16, 16, requires_grad=True)
    loss = ClickSeparationLoss(click_weight=0, sparsity_weight=0, smooth_weight=0)
    total, terms = loss(logits, image, points, valid)
    total.backward()
    gradient = logits.grad[0, 0]
    on_path = gradient < 0
    assert on_path.sum() >= 12 and on_path[8, 2:14].all()  # the straight row between the clicks
    assert (gradient[~on_path] == 0).all() and float(terms['l_separation']) > 0
    # A border across the row lowers the term; the other terms push every logit down.
    walled = torch.zeros(1, 1, 16, 16)
    walled[..., 7] = 6.0
    assert float(loss(walled, image, points, valid)[0]) < float(total.detach())
    full = ClickSeparationLoss()
    _, terms = full(torch.zeros(1, 1, 16, 16), image, points, valid)
    assert set(terms) == {'l_separation', 'l_click', 'l_sparsity', 'l_smooth'}


def test_separation_loss_reads_only_the_image_and_the_clicks():
    torch.manual_seed(0)
    network = ClickBoundaryNet(width=8, input_size=48)
    scene, image, points, valid = _scene()
    loss = ClickSeparationLoss()

    def value(panoptic, clicks=points):
        batch = {'image': image, 'points': clicks, 'valid': valid, 'panoptic': torch.from_numpy(panoptic)}
        total, _ = loss(network(batch['image']), batch['image'], batch['points'], batch['valid'])
        return float(total.detach())

    truth = scene['panoptic']
    changed = truth.copy()
    clicked = np.zeros(truth.shape, bool)
    clicked[scene['points'][:, 1], scene['points'][:, 0]] = True
    changed[~clicked] = (truth[~clicked] + 1) % (truth.max() + 1)  # every unclicked label changed
    assert value(truth) == value(changed)
    moved = points.clone()
    moved[0, 0] += 3
    assert value(truth, moved) != value(truth)


def test_training_steps_reduce_the_loss():
    torch.manual_seed(0)
    network = ClickBoundaryNet(width=8, input_size=48)
    _, image, points, valid = _scene()
    loss = ClickSeparationLoss()
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    values = []
    for _ in range(15):
        optimizer.zero_grad()
        total, _ = loss(network(image), image, points, valid)
        total.backward()
        optimizer.step()
        values.append(total.item())
    assert values[-1] < values[0]


def test_regions_cover_every_pixel_and_weights_name_their_network(tmp_path):
    from panda_plugin.engine.points import click_regions
    from panda_plugin.engine.points.learned import export_point_weights, load_point_model
    from panda_plugin.engine.points.models.panoptic_arch import PanopticSegmenterNet

    torch.manual_seed(0)
    path = export_point_weights(ClickBoundaryNet(width=8, input_size=32), tmp_path / 'border.safetensors')
    network = load_point_model(path)
    assert isinstance(network, ClickBoundaryNet) and network.config['input_size'] == 32
    image = np.random.default_rng(0).integers(0, 256, (40, 70, 3), dtype=np.uint8)
    clicks = [(0, 0), (69, 39), (35, 20), (36, 20)]
    labels = click_regions(image, clicks, 'learned', weights=path)
    assert labels.shape == (40, 70) and np.array_equal(np.unique(labels), np.arange(4))
    assert [labels[y, x] for x, y in clicks] == [0, 1, 2, 3]
    probability = network.probability(torch.rand(1, 3, 32, 32))
    assert probability.shape == (1, 32, 32) and bool(((probability >= 0) & (probability <= 1)).all())
    with pytest.raises(PandaInputError, match='holds a ClickBoundaryNet'):
        load_point_model(path, PanopticSegmenterNet)
    with pytest.raises(PandaInputError, match='rounds'):
        click_regions(image, clicks, 'learned', weights=path, rounds=1)


BOUNDARY_OPTIONS = """
name: points_boundary_test
model_type: ClickBoundaryModel
num_gpu: 0
manual_seed: 0
datasets:
  train: {{name: scenes, type: PointsDataset, dataroot: {data}, use_hflip: false, use_rot: false,
           num_worker_per_gpu: 0, batch_size_per_gpu: 3, dataset_enlarge_ratio: 1, prefetch_mode: ~}}
  val: {{name: scenes_val, type: PointsDataset, dataroot: {data}}}
network_g: {{type: ClickBoundaryNet, width: 8, input_size: 48}}
path: {{pretrain_network_g: {init}, strict_load_g: true, resume_state: ~}}
train:
  optim_g: {{type: AdamW, lr: !!float 1e-3}}
  scheduler: {{type: MultiStepLR, milestones: [100], gamma: 0.5}}
  total_iter: 6
  warmup_iter: -1
  loss_opt: {{type: ClickSeparationLoss}}
val: {{val_freq: 6, save_img: false, metrics: {{pq: {{better: higher}}}}}}
logger: {{print_freq: 1, save_checkpoint_freq: 6, use_tb_logger: false}}
dist_params: {{backend: gloo, port: 29500}}
"""


def test_panda_train_and_export_the_border_cost(train_on_pseudo_scenes, tmp_path):
    """Six steps on one fixed batch (the three scenes, uncropped) from a known start: the
    training loss falls, and the exported border cost is the trained network, not the start."""
    from panda_plugin.adapters.cli import main
    from panda_plugin.engine.points.learned import load_point_model

    torch.manual_seed(0)
    init = tmp_path / 'init.pth'
    start = ClickBoundaryNet(width=8, input_size=48).state_dict()
    torch.save({'params': start}, init)
    root, options, log = train_on_pseudo_scenes(BOUNDARY_OPTIONS.replace('{init}', str(init)), 'points_boundary_test')
    assert_losses_fall(root, ('l_total',))
    assert re.search(r'Validation scenes_val @ 6: pq: \d', log)
    out = root / 'border.safetensors'
    assert main(['export-point-weights', str(root / 'models' / 'net_g_6.pth'), '--opt', str(options),
                 '--out', str(out)]) == 0
    exported = load_point_model(out)
    assert isinstance(exported, ClickBoundaryNet)
    trained = torch.load(root / 'models' / 'net_g_6.pth', weights_only=True)['params']
    assert exported.state_dict().keys() == trained.keys() == start.keys()
    for key, value in exported.state_dict().items():
        assert torch.equal(value, trained[key]), key
    moved = [key for key, value in trained.items() if value.is_floating_point() and not torch.equal(value, start[key])]
    weights = [key for key, value in start.items() if key.endswith('weight') and value.is_floating_point()]
    assert set(weights) <= set(moved)
    scene = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    begin = ClickBoundaryNet(width=8, input_size=48).eval()
    begin.load_state_dict(start)
    assert not torch.allclose(exported.eval().probability(scene), begin.probability(scene))
