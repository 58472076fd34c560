"""The shipped weights through ``compare``, the ``panda`` command and ``panda bench``."""
import json

import numpy as np
import pytest

import panda_plugin
from panda_plugin.adapters.cli import main
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.distortions import degrade_regions
from panda_plugin.engine.image_io import save_image, square_crop
from panda_plugin.engine.panda.weights import DEFAULT_WEIGHTS


@pytest.fixture(scope='module')
def coffee_pair():
    """A held-out image (never seen in training) whose top-left quadrant is blurred, and its clean twin."""
    clean = square_crop(packaged_image('skimage', 'coffee'), 256)
    quadrants = np.zeros(clean.shape[:2], np.int32)
    quadrants[:, 128:] += 1
    quadrants[128:, :] += 2
    blurred = degrade_regions(clean, quadrants, [[('blur', 'severe')], [], [], []], seed=0)
    return blurred, clean, quadrants


def test_shipped_weights_load_without_network():
    network = panda_plugin.load_model()
    assert network.weights_name == DEFAULT_WEIGHTS
    assert not network.training


def test_a_blurred_region_is_labelled_blur_and_worse(coffee_pair):
    blurred, clean, quadrants = coffee_pair
    graph = panda_plugin.compare(blurred, clean, masks=quadrants, pairwise=True)
    region = graph.regions[0]
    assert region.anchor.distortion == 'blur'
    assert region.target.distortion == 'clean'
    assert region.relation in ('significantly_worse', 'slightly_worse')
    assert region.anchor.score < region.target.score - 0.1
    untouched = graph.regions[3]
    assert abs(untouched.anchor.score - untouched.target.score) < abs(region.anchor.score - region.target.score)


def test_an_image_against_itself_is_same_and_clean_everywhere(coffee_pair):
    _, clean, _ = coffee_pair
    graph = panda_plugin.compare(clean, clean, pairwise=True)
    assert len(graph.regions) >= 8
    for region in graph.regions:
        assert region.relation == 'same'
        assert region.anchor.distortion == region.target.distortion == 'clean'
        assert region.anchor.score == region.target.score   # the gap is 0.000
        assert region.anchor.severity == region.target.severity == 'clean'
    assert graph.anchor_score == graph.target_score and graph.relation == 'same'


def test_swapping_mirrors_and_repeats_are_identical(coffee_pair):
    """Swapping the images mirrors the graph exactly (docs/graph.md): each region's distortion,
    severity and score move to the other side and its relation turns around."""
    blurred, clean, _ = coffee_pair
    forward = panda_plugin.compare(blurred, clean, pairwise=True)
    backward = panda_plugin.compare(clean, blurred, masks=forward.label_map, pairwise=True)
    turned = {'same': 'same', 'slightly_better': 'slightly_worse', 'slightly_worse': 'slightly_better',
              'significantly_better': 'significantly_worse', 'significantly_worse': 'significantly_better'}
    assert len(forward.regions) == len(backward.regions) >= 8
    assert {region.relation for region in forward.regions} != {'same'}   # something to turn around
    for there, back in zip(forward.regions, backward.regions, strict=True):
        for side, other in (('anchor', 'target'), ('target', 'anchor')):
            one, two = getattr(there, side), getattr(back, other)
            assert (one.distortion, one.severity, one.score) == (two.distortion, two.severity, two.score)
        assert back.relation == turned[there.relation]
    assert (backward.anchor_score, backward.target_score) == (forward.target_score, forward.anchor_score)
    assert backward.relation == turned[forward.relation]
    assert panda_plugin.compare(blurred, clean, pairwise=True).to_json() == forward.to_json()


def test_compare_rejects_mismatched_sizes(coffee_pair):
    blurred, clean, _ = coffee_pair
    with pytest.raises(PandaInputError, match='256x256.*128x128'):
        panda_plugin.compare(blurred, clean[:128, :128])


def test_compare_command_writes_json_and_picture(coffee_pair, tmp_path, capsys):
    blurred, clean, _ = coffee_pair
    save_image(tmp_path / 'a.png', blurred)
    save_image(tmp_path / 'b.png', clean)
    code = main(['compare', str(tmp_path / 'a.png'), str(tmp_path / 'b.png'), '--segmenter', 'grid:2x2',
                 '--json', str(tmp_path / 'g.json'), '--viz', str(tmp_path / 'g.png')])
    assert code == 0
    table = capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0].startswith('reference mode') and lines[1].split()[4:6] == ['restored', 'reference']
    assert 'blur/' in lines[2] and 'whole image: restored' in table
    graph = panda_plugin.DistortionGraph.from_json(tmp_path / 'g.json')
    assert len(graph.regions) == 4 and graph.metadata['weights'] == DEFAULT_WEIGHTS
    assert (tmp_path / 'g.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_bench_command_reports_every_method(tiny_bench, tmp_path):
    out = tmp_path / 'bench.json'
    assert main(['bench', '--data', str(tiny_bench), '--json', str(out),
                 '--confusion', str(tmp_path / 'confusion.png')]) == 0
    report = json.loads(out.read_text())
    keys = {'relation_acc', 'relation_f1', 'distortion_acc', 'distortion_f1',
            'severity_acc', 'severity_f1', 'srcc', 'plcc'}
    methods = report['methods']
    assert set(methods) == {DEFAULT_WEIGHTS, 'random', 'majority'}
    for values in methods.values():
        assert keys <= set(values)
        assert all(0 <= values[key] <= 1 for key in keys if 'acc' in key or 'f1' in key)
    assert (tmp_path / 'confusion.png').stat().st_size > 1000
