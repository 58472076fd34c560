"""Work beside the calling thread: the pair encoded in the background while regions are
proposed is the network's own encoding and the same on every call, and the caller's torch
threads are shared while a measure runs beside it, then given back."""
import json

import numpy as np
import pytest
import torch

import panda_plugin
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.background import encode_in_background, sharing_threads
from panda_plugin.engine.panda.predictor import resolve_model
from panda_plugin.engine.regions import build_segmenter
from panda_plugin.engine.tensors import rgb8_to_tensor


@pytest.fixture(scope='module')
def pair():
    reference = square_crop(packaged_image('skimage', 'coffee'), 96)
    restored = np.clip(reference.astype(np.int16) + np.random.default_rng(0).integers(-20, 21, reference.shape),
                       0, 255).astype(np.uint8)
    return restored, reference


def test_background_is_the_network_s_own_and_the_same_every_time(pair):
    network = resolve_model()
    anchors, targets = (rgb8_to_tensor(image)[None].contiguous() for image in pair)
    threads = torch.get_num_threads()
    encoding = encode_in_background(network, anchors, targets).result()
    assert torch.get_num_threads() == threads
    again = encode_in_background(network, anchors, targets).result()
    assert torch.equal(encoding.features, again.features)
    with torch.no_grad():
        expected = network.encode(anchors, targets)
        labels = torch.from_numpy(np.asarray(build_segmenter('superpixel')(pair[1]), np.int64))[None]
        given = network(anchors, targets, labels, encoding=encoding)
        own = network(anchors, targets, labels)
    torch.testing.assert_close(encoding.features, expected.features, rtol=1e-4, atol=1e-5)
    for got, want in zip(encoding.grids, expected.grids):
        torch.testing.assert_close(got, want)
    for name in own:
        torch.testing.assert_close(given[name], own[name], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('threads, shares', [(1, (1, 1)), (2, (1, 1)), (3, (2, 1)), (4, (2, 2))])
def test_sharing_threads_splits_the_caller_s_threads_and_gives_them_back(threads, shares):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with pytest.raises(RuntimeError, match='inside'):
            with sharing_threads() as background:
                assert (torch.get_num_threads(), background) == shares
                raise RuntimeError('inside')
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)


def test_compare_gives_back_the_caller_s_threads_and_the_same_graph_on_one_thread(pair):
    before = torch.get_num_threads()
    graph = panda_plugin.compare(*pair).to_json()
    assert torch.get_num_threads() == before
    torch.set_num_threads(1)
    try:
        alone = json.loads(panda_plugin.compare(*pair).to_json())
    finally:
        torch.set_num_threads(before)
    for one, other in zip(alone['regions'], json.loads(graph)['regions'], strict=True):
        assert (one['relation'], one['mask']) == (other['relation'], other['mask'])
        for side in ('anchor', 'target'):
            assert one[side] == pytest.approx(other[side], abs=1e-6)


def test_proposed_regions_give_the_graph_of_the_same_regions_given_as_masks(pair):
    for pairwise in (False, True):
        proposed = panda_plugin.compare(*pair, pairwise=pairwise)
        given = panda_plugin.compare(*pair, masks=proposed.label_map, pairwise=pairwise)
        assert proposed.regions == given.regions
        assert proposed.metadata['regions'] == 'superpixel' and given.metadata['regions'] == 'masks'


def test_images_above_the_size_limit_are_encoded_by_the_network_itself(pair, monkeypatch):
    from panda_plugin.engine.panda import background

    anchors, targets = (rgb8_to_tensor(image)[None].contiguous() for image in pair)
    assert encode_in_background(resolve_model(), anchors, targets) is not None
    monkeypatch.setattr(background, 'MOST_PIXELS', 96 * 96 - 1)
    assert encode_in_background(resolve_model(), anchors, targets) is None
    graph = panda_plugin.compare(*pair)
    assert graph.regions == panda_plugin.compare(*pair, masks=graph.label_map).regions


def _compare_in_child(pair, results):
    torch.set_num_threads(1)   # as PyTorch's DataLoader workers do: torch's own thread pool hangs after fork
    results.put(panda_plugin.compare(*pair).to_json())


def test_a_forked_child_compares_with_a_background_thread_of_its_own(pair):
    import multiprocessing

    parent = panda_plugin.compare(*pair).to_json()   # the parent's background thread exists now
    context = multiprocessing.get_context('fork')
    results = context.Queue()
    child = context.Process(target=_compare_in_child, args=(pair, results))
    child.start()
    child.join(60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, 'compare hung in a forked child'
    assert json.loads(results.get(timeout=10))['regions'] == json.loads(parent)['regions']
