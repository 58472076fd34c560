"""The one reference-mode path: a batch gives every pair the scores it gets alone, and
``compare`` and the pyiqa metric give the same pair the same scores."""
import warnings

import cv2
import numpy as np
import pyiqa
import pytest
import torch

import panda_plugin
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.predictor import predict_graphs, resolve_model
from panda_plugin.engine.panda.reference import reference_measures
from panda_plugin.engine.regions import build_segmenter


def same_graph(one, other) -> None:
    """Same regions, labels and relations; scores and textures equal to 1e-6."""
    assert one.label_map.tolist() == other.label_map.tolist()
    for a, b in zip(one.regions, other.regions, strict=True):
        assert a.relation == b.relation
        for side in ('anchor', 'target'):
            x, y = getattr(a, side), getattr(b, side)
            assert (x.distortion, x.severity) == (y.distortion, y.severity)
            assert x.score == pytest.approx(y.score, abs=1e-6) and x.texture == pytest.approx(y.texture, abs=1e-6)


def tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255


def blur_jpeg(image: np.ndarray, sigma: float, quality: int) -> np.ndarray:
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    _, data = cv2.imencode('.jpg', np.ascontiguousarray(blurred[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])


@pytest.fixture(scope='module')
def pairs():
    """Three 128-px (restored, reference, superpixel label map) triples of different photographs,
    the last one restored perfectly in its left half."""
    segmenter = build_segmenter('superpixel')
    triples = []
    for source, name, sigma, quality in (('skimage', 'coffee', 1.5, 40), ('skimage', 'rocket', 0.8, 20),
                                         ('matplotlib', 'grace_hopper.jpg', 2.5, 60)):
        clean = square_crop(packaged_image(source, name), 128)
        triples.append((blur_jpeg(clean, sigma, quality), clean, np.asarray(segmenter(clean), np.int64)))
    triples[-1][0][:, :64] = triples[-1][1][:, :64]
    return triples


def test_a_batch_gives_every_pair_its_own_scores(pairs):
    restored = torch.cat([tensor(r) for r, _, _ in pairs])
    reference = torch.cat([tensor(c) for _, c, _ in pairs])
    labels = torch.from_numpy(np.stack([m for _, _, m in pairs]))
    with torch.no_grad():
        fidelity, texture = reference_measures(restored, reference, labels)
        for index, (one_restored, one_reference, label_map) in enumerate(pairs):
            alone = reference_measures(tensor(one_restored), tensor(one_reference), [label_map])
            assert len(fidelity[index]) == int(label_map.max()) + 1
            assert torch.allclose(fidelity[index], alone[0][0], rtol=0, atol=1e-6)
            assert torch.allclose(texture[index], alone[1][0], rtol=0, atol=1e-6)
        graphs = predict_graphs(resolve_model(), restored, reference, labels, reference=True)
    for graph, (one_restored, one_reference, label_map) in zip(graphs, pairs):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            single = panda_plugin.compare(one_restored, one_reference, masks=label_map)
        same_graph(graph, single)
    # the perfectly restored half scores exactly 1 in the batch too
    identical = [r.id for r in graphs[2].regions if (pairs[2][2][:, 64:] != r.id).all()]
    assert identical and all(graphs[2].regions[i].anchor.score == 1.0 for i in identical)
    assert min(r.anchor.score for r in graphs[0].regions) < 0.9


def test_compare_and_the_pyiqa_metric_agree_on_a_pair(pairs):
    restored, reference, _ = pairs[0]
    metric = pyiqa.create_metric('panda', device='cpu')
    graph = panda_plugin.compare(restored, reference)
    with torch.no_grad():
        score, graphs = metric(tensor(restored), tensor(reference), return_graph=True)
        texture = pyiqa.create_metric('panda', device='cpu', score='texture')(tensor(restored), tensor(reference))
    assert float(score) == pytest.approx(graph.anchor_score, abs=1e-6)
    assert float(texture) == pytest.approx(graph.anchor_texture, abs=1e-6)
    same_graph(graphs[0], graph)
    assert graph.anchor_score < 0.9


def test_the_metric_s_graphs_are_compare_s_whichever_score_it_returns(pairs):
    restored, reference, _ = pairs[1]
    graph = panda_plugin.compare(restored, reference)
    for score in ('fidelity', 'texture'):
        metric = pyiqa.create_metric('panda', device='cpu', score=score)
        value, graphs = metric(tensor(restored), tensor(reference), return_graph=True)
        assert float(value) == pytest.approx(getattr(graph, f'anchor_{"score" if score == "fidelity" else score}'),
                                             abs=1e-6)
        same_graph(graphs[0], graph)


def test_image_scores_of_measured_label_maps_equal_those_of_counted_pixels():
    from panda_plugin.core.graph import measure_label_map
    from panda_plugin.engine.panda.predictor import image_scores

    maps = torch.from_numpy(np.random.default_rng(0).integers(-1, 5, (3, 20, 30)))
    maps[1][maps[1] == 4] = 3  # fewer regions than slots
    scores = torch.rand(2, 3, 6)
    counted = image_scores(scores, maps)
    assert torch.equal(image_scores(scores, [measure_label_map(m) for m in maps.numpy()]), counted)
    areas = torch.stack([torch.bincount(m.flatten() + 1, minlength=7)[1:] for m in maps]).float()
    torch.testing.assert_close(counted, (areas * scores).sum(-1) / areas.sum(-1))
