"""Regions proposed while the network encodes the pair: the same graph as one after the other,
the caller's torch threads untouched, the proposer's errors raised."""
import numpy as np
import pytest
import torch

import panda_plugin
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.background_encoding import regions_while_encoding
from panda_plugin.engine.panda.predictor import resolve_model
from panda_plugin.engine.regions import build_segmenter
from panda_plugin.engine.tensors import rgb8_to_tensor


@pytest.fixture(scope='module')
def pair():
    reference = square_crop(packaged_image('skimage', 'coffee'), 96)
    restored = np.clip(reference.astype(np.int16) + np.random.default_rng(0).integers(-20, 21, reference.shape),
                       0, 255).astype(np.uint8)
    return restored, reference


def test_encoding_made_beside_the_proposer_is_the_network_s_own(pair):
    network, segmenter = resolve_model(), build_segmenter('superpixel')
    anchors, targets = (rgb8_to_tensor(image)[None].contiguous() for image in pair)
    threads = torch.get_num_threads()
    label_map, encoding = regions_while_encoding(segmenter, pair[1], network, anchors, targets)
    assert torch.get_num_threads() == threads
    np.testing.assert_array_equal(label_map, segmenter(pair[1]))
    with torch.no_grad():
        expected = network.encode(anchors, targets)
        labels = torch.from_numpy(np.asarray(label_map, np.int64))[None]
        given = network(anchors, targets, labels, encoding=encoding)
        own = network(anchors, targets, labels)
    torch.testing.assert_close(encoding.features, expected.features, rtol=1e-4, atol=1e-5)
    for got, want in zip(encoding.grids, expected.grids):
        torch.testing.assert_close(got, want)
    for name in own:
        torch.testing.assert_close(given[name], own[name], rtol=1e-4, atol=1e-4)


def test_compare_gives_the_graph_of_the_serial_path(pair):
    proposed = panda_plugin.compare(*pair)
    serial = panda_plugin.compare(*pair, masks=proposed.label_map)
    assert [(r.anchor.distortion, r.anchor.severity, r.relation) for r in proposed.regions] == \
        [(r.anchor.distortion, r.anchor.severity, r.relation) for r in serial.regions]
    np.testing.assert_allclose([r.anchor.score for r in proposed.regions], [r.anchor.score for r in serial.regions])
    assert proposed.metadata['network_relation'] == serial.metadata['network_relation']


def test_a_proposer_error_reaches_the_caller(pair):
    def broken(image):
        raise ValueError('proposer failed')

    anchors, targets = (rgb8_to_tensor(image)[None].contiguous() for image in pair)
    with pytest.raises(ValueError, match='proposer failed'):
        regions_while_encoding(broken, pair[1], resolve_model(), anchors, targets)
