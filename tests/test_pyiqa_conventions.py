"""pyiqa conventions of the metric ``panda``: weights paths, ``load_weights``, score range,
``lower_better``; and the spatial quality map."""
import numpy as np
import pyiqa
import pytest
import torch

import panda_plugin  # noqa: F401 (registers 'panda')
from panda_plugin.core.errors import PandaInputError
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


def test_pretrained_model_path_and_load_weights(pair, tmp_path):
    shipped = SHIPPED / 'panda-tiny.safetensors'
    metric = pyiqa.create_metric('panda', device='cpu', pretrained_model_path=str(shipped))
    assert metric.net.network.weights_name == 'panda-tiny'
    score = float(metric(*pair))
    metric.net.load_weights(shipped)
    assert float(metric(*pair)) == pytest.approx(score)
    # a BasicSR checkpoint: pyiqa's own load_weights reads its 'params'
    checkpoint = tmp_path / 'net_g_10.pth'
    torch.save({'params': load_model(shipped).state_dict()}, checkpoint)
    metric.load_weights(str(checkpoint))
    metric.net.load_weights(checkpoint)
    assert float(metric(*pair)) == pytest.approx(score)
    with pytest.raises(PandaInputError, match='both given'):
        pyiqa.create_metric('panda', device='cpu', weights='x.safetensors', pretrained_model_path=str(shipped))


def test_pickled_checkpoints_are_refused(tmp_path):
    import argparse

    path = tmp_path / 'evil.pth'
    torch.save({'params': argparse.Namespace(code='anything')}, path)
    with pytest.raises(PandaInputError, match='without pickle'):
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
