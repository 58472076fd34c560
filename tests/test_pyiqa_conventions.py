"""pyiqa conventions of the metric ``panda``: weights paths, ``load_weights``, score range,
``lower_better``; and the spatial quality map."""
import json

import numpy as np
import pyiqa
import pytest
import torch
from safetensors.torch import save_file

import panda_plugin  # noqa: F401 (registers 'panda')
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.taxonomy import DISTORTIONS
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.weights import SHIPPED, load_model


@pytest.fixture(scope='module')
def pair():
    clean = square_crop(packaged_image('skimage', 'coffee'), 96)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
    return [torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255 for image in (noisy, clean)]


def test_range_and_direction():
    metric = pyiqa.create_metric('panda', device='cpu')
    assert metric.lower_better is False
    assert metric.score_range == '0, 1'
    assert metric.metric_mode == 'FR'


def forced_weights(distortion: str, seed: int) -> dict:
    """The shipped tensors, perturbed, with the distortion head's last bias forcing ``distortion``.

    Args:
        distortion: The class every region's distortion logits then favour by far.
        seed: Seed of the perturbation.

    Returns:
        A state dict of PANDA that differs from the shipped one in every float tensor.
    """
    generator = torch.Generator().manual_seed(seed)
    state = {key: (value + 0.01 * value.std().nan_to_num() * torch.randn(value.shape, generator=generator)
                   if value.is_floating_point() and value.numel() > 1 else value.clone())
             for key, value in load_model(SHIPPED / 'panda-tiny.safetensors').state_dict().items()}
    bias = torch.zeros_like(state['heads.distortion.6.bias'])
    bias[DISTORTIONS.index(distortion)] = 1e4
    state['heads.distortion.6.bias'] = bias
    return state


def graph_distortions(metric, pair) -> set:
    _, graphs = metric(*pair, return_graph=True)
    return {region.anchor.distortion for region in graphs[0].regions if region.anchor.score < 0.95}


def network_outputs(network, pair) -> dict:
    label_map = torch.arange(4).repeat_interleave(24 * 96).reshape(1, 96, 96)
    with torch.no_grad():
        return network(pair[0], pair[1], label_map)


def test_pretrained_model_path_and_load_weights(pair, tmp_path):
    shipped = SHIPPED / 'panda-tiny.safetensors'
    metric = pyiqa.create_metric('panda', device='cpu', pretrained_model_path=str(shipped))
    assert metric.net.network.weights_name == 'panda-tiny'
    score = float(metric(*pair))
    before = graph_distortions(metric, pair)
    assert before and before <= set(DISTORTIONS) - {'clean'}
    # a safetensors file whose weights differ from the shipped ones: the metric's graphs and its
    # network's outputs become the file's, as loaded independently by load_model
    first = next(name for name in DISTORTIONS[1:] if name not in before)
    second = next(name for name in DISTORTIONS[1:] if name not in before | {first})
    exported = tmp_path / 'perturbed.safetensors'
    save_file(forced_weights(first, seed=1), str(exported),
              metadata={'panda_config': json.dumps(metric.net.network.panda_config)})
    metric.net.load_weights(exported)
    assert metric.net.network.weights_name == 'perturbed'
    assert graph_distortions(metric, pair) == {first}
    independent, original = load_model(exported), load_model(shipped)
    loaded = network_outputs(metric.net.network, pair)
    for key, value in network_outputs(independent, pair).items():
        assert torch.equal(loaded[key], value), key
    assert not torch.allclose(loaded['anchor_score'], network_outputs(original, pair)['anchor_score'])
    assert float(metric(*pair)) == pytest.approx(score, abs=1e-6)   # reference-mode scores need no network
    # a BasicSR checkpoint through pyiqa's own load_weights ('params' of a bare network)
    checkpoint = tmp_path / 'net_g_10.pth'
    torch.save({'params': forced_weights(second, seed=2)}, checkpoint)
    metric.load_weights(str(checkpoint))
    assert graph_distortions(metric, pair) == {second}
    # and through the metric's own load_weights, with the network's arch options
    metric.net.load_weights(shipped)
    assert graph_distortions(metric, pair) == before
    metric.net.load_weights(checkpoint)
    assert graph_distortions(metric, pair) == {second}
    loaded = network_outputs(metric.net.network, pair)
    for key, value in network_outputs(load_model(checkpoint, config=original.panda_config), pair).items():
        assert torch.equal(loaded[key], value), key
    with pytest.raises(PandaInputError, match='both given'):
        pyiqa.create_metric('panda', device='cpu', weights='x.safetensors', pretrained_model_path=str(shipped))


def test_pickled_checkpoints_are_refused(tmp_path):
    import argparse

    path = tmp_path / 'evil.pth'
    torch.save({'params': argparse.Namespace(code='anything')}, path)
    with pytest.raises(PandaInputError, match=r'holds pickled code or objects \(argparse.Namespace\), refused: '
                                              'nothing in it ran'):
        pyiqa.create_metric('panda', device='cpu', pretrained_model_path=str(path))


def test_spatial_map_paints_region_scores(pair):
    metric = panda_plugin.PandaMetric()
    restored = pair[0].clone().requires_grad_(True)
    restored.data[..., :48, :] = pair[1][..., :48, :]   # top half identical
    scores = metric(restored, pair[1])
    spatial, graphs = metric(restored, pair[1], spatial=True, return_graph=True)
    assert spatial.shape == (1, 1, 96, 96)
    graph = graphs[0]
    for region in graph.regions:
        assert torch.allclose(spatial[0, 0][torch.from_numpy(graph.mask(region.id))],
                              torch.tensor(region.anchor.score, dtype=spatial.dtype))
    # the area-weighted mean of the map is the image score
    assert float(spatial.detach().mean()) == pytest.approx(float(scores.detach()), abs=1e-5)
    (1 - spatial).mean().backward()
    assert restored.grad is not None and torch.isfinite(restored.grad).all()
    via_pyiqa = pyiqa.create_metric('panda', device='cpu')(pair[0], pair[1], spatial=True)
    assert via_pyiqa.shape == (1, 1, 96, 96)
