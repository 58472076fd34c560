"""Tests of the distortion graph: construction, validation, aggregates, JSON, prompt, render."""
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data, filters

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.graph import DistortionGraph, Region, RegionLabel, measure_label_map
from panda_plugin.core.masks import rle_decode
from panda_plugin.core.taxonomy import invert_relation, relation_from_scores

# Unequal 3x3 grid on the 512x512 astronaut: row and column cut positions.
ROW_CUTS = (0, 100, 300, 512)
COL_CUTS = (0, 200, 350, 512)

# (anchor score, target score, expected relation): threshold edges included.
PAIRS = (
    (0.5, 0.5, 'same'),
    (0.1, 0.0, 'slightly_better'),
    (0.0, 0.1, 'slightly_worse'),
    (0.3, 0.0, 'significantly_better'),
    (0.0, 0.3, 'significantly_worse'),
    (0.0999, 0.0, 'same'),
    (0.2999, 0.0, 'slightly_better'),
    (0.0, 0.2999, 'slightly_worse'),
    (1.0, 0.5, 'significantly_better'),
)


def grid_label_map() -> np.ndarray:
    label_map = np.empty((512, 512), np.int32)
    for row in range(3):
        for col in range(3):
            rows = slice(ROW_CUTS[row], ROW_CUTS[row + 1])
            label_map[rows, COL_CUTS[col]:COL_CUTS[col + 1]] = 3 * row + col
    return label_map


def grid_graph(**overrides) -> DistortionGraph:
    anchor_scores = [a for a, _, _ in PAIRS]
    target_scores = [t for _, t, _ in PAIRS]
    anchor = {'distortion': ['clean', 'blur', 'noise', 'clean', 'haze', 'blur', 'rain', 'snow',
                             'clean'],
              'severity': ['clean', 'minor', 'severe', 'clean', 'moderate', 'minor', 'minor',
                           'severe', 'clean'],
              'score': anchor_scores}
    target = {'distortion': [0, 7, 0, 13, 0, 0, 14, 0, 6],
              'severity': [0, 2, 0, 3, 0, 0, 1, 0, 1],
              'score': target_scores}
    arguments = {'label_map': grid_label_map(), 'anchor': anchor, 'target': target,
                 'metadata': {'source': 'astronaut', 'cuts': [list(ROW_CUTS), list(COL_CUTS)]}}
    arguments.update(overrides)
    return DistortionGraph.from_labels(**arguments)


def random_graph(seed: int = 0) -> DistortionGraph:
    rng = np.random.default_rng(seed)
    label_map = rng.integers(-1, 7, size=(48, 64)).astype(np.int32)
    label_map[0, :8] = np.arange(-1, 7)
    count = 7
    distortions = rng.integers(1, 15, count)
    severities = rng.integers(1, 4, count)
    clean = rng.random(count) < 0.3
    anchor = {'distortion': np.where(clean, 0, distortions),
              'severity': np.where(clean, 0, severities), 'score': rng.random(count)}
    target = {'distortion': ['clean'] * count, 'severity': ['clean'] * count,
              'score': rng.random(count)}
    return DistortionGraph.from_labels(label_map, anchor, target)


def test_from_labels_derives_relations_with_the_official_thresholds():
    graph = grid_graph()
    assert len(graph) == 9
    assert [r.id for r in graph.regions] == list(range(9))
    for region, (anchor, target, expected) in zip(graph.regions, PAIRS):
        assert region.relation == expected
        assert region.relation == relation_from_scores(anchor, target)
        assert region.anchor.score == anchor and region.target.score == target
    region = graph.regions[4]
    assert region.bbox == (200, 100, 150, 200) and region.area == 150 * 200
    assert region.anchor == RegionLabel('haze', 'moderate', 0.0)
    assert graph.regions[1].target == RegionLabel('blur', 'moderate', 0.0)
    assert graph.image_size == (512, 512)
    assert graph.mask(4).sum() == region.area and graph.mask(4)[150, 250]
    graph.validate()


def test_explicit_relations_accept_names_and_ids():
    relations = ['same'] * 8 + [4]
    graph = grid_graph(relations=relations)
    assert [r.relation for r in graph.regions] == ['same'] * 8 + ['significantly_better']


def test_label_map_is_read_only_copy():
    label_map = grid_label_map()
    graph = grid_graph(label_map=label_map)
    label_map[:] = 0
    assert graph.label_map.max() == 8
    with pytest.raises(ValueError):
        graph.label_map[0, 0] = 3


def test_mirror_swaps_sides_and_inverts_every_relation():
    graph = grid_graph()
    mirrored = graph.mirror()
    for region, flipped in zip(graph.regions, mirrored.regions):
        assert flipped.anchor == region.target and flipped.target == region.anchor
        assert flipped.relation == invert_relation(region.relation)
        assert flipped.relation == relation_from_scores(flipped.anchor.score, flipped.target.score)
        assert (flipped.bbox, flipped.area) == (region.bbox, region.area)
    assert mirrored.anchor_score == graph.target_score
    assert mirrored.relation == invert_relation(graph.relation)
    assert mirrored != graph
    assert mirrored.mirror() == graph


def test_aggregates_are_area_weighted():
    label_map = np.full((10, 11), -1, np.int32)
    label_map[:5, :10] = 0
    label_map[5:, :8] = 1
    label_map[5:, 8:10] = 2
    anchor = {'distortion': ['clean', 'blur', 'blur'], 'severity': ['clean', 'minor', 'severe'],
              'score': [1.0, 0.5, 0.0]}
    target = {'distortion': ['noise', 'noise', 'clean'], 'severity': ['minor'] * 2 + ['clean'],
              'score': [0.2, 0.2, 1.0]}
    graph = DistortionGraph.from_labels(label_map, anchor, target)
    assert [r.area for r in graph.regions] == [50, 40, 10]
    assert graph.anchor_score == pytest.approx((50 * 1.0 + 40 * 0.5) / 100)
    assert graph.target_score == pytest.approx((50 * 0.2 + 40 * 0.2 + 10 * 1.0) / 100)
    assert graph.relation == 'significantly_better'
    assert graph.distortion_areas('anchor') == pytest.approx({'clean': 0.5, 'blur': 0.5})
    assert graph.distortion_areas('target') == pytest.approx({'noise': 0.9, 'clean': 0.1})
    with pytest.raises(PandaInputError, match='side'):
        graph.distortion_areas('left')


@pytest.mark.parametrize('make', [grid_graph, random_graph])
def test_distortion_areas_sum_to_one(make):
    graph = make()
    for side in ('anchor', 'target'):
        assert math.isclose(sum(graph.distortion_areas(side).values()), 1.0)


@pytest.mark.parametrize('make', [grid_graph, random_graph])
def test_json_round_trip_is_lossless(make, tmp_path):
    graph = make()
    text = graph.to_json()
    again = DistortionGraph.from_json(text)
    assert again == graph
    assert [r.anchor.score for r in again.regions] == [r.anchor.score for r in graph.regions]
    assert again.metadata == graph.metadata
    path = tmp_path / 'graph.json'
    assert graph.to_json(path, indent=2) == path.read_text(encoding='utf-8')
    assert DistortionGraph.from_json(path) == graph
    assert DistortionGraph.from_json(str(path)) == graph
    assert DistortionGraph.from_dict(json.loads(text)) == graph


def test_json_keeps_awkward_floats_exact():
    graph = grid_graph()
    regions = graph.regions
    regions[0] = replace(regions[0], anchor=RegionLabel('blur', 'minor', 0.1 + 0.2),
                         target=RegionLabel('clean', 'clean', 1 / 3))
    graph = DistortionGraph(graph.label_map, regions)
    again = DistortionGraph.from_json(graph.to_json())
    assert again.regions[0].anchor.score == 0.1 + 0.2
    assert again.regions[0].target.score == 1 / 3
    assert again == graph


def test_to_dict_follows_the_schema_and_rle_decodes_to_masks():
    graph = random_graph()
    data = graph.to_dict()
    assert data['schema'] == 'panda-dg/2'
    assert data['image_size'] == [48, 64]
    assert set(data) == {'schema', 'image_size', 'anchor', 'target', 'relation', 'regions',
                         'metadata'}
    assert data['anchor']['score'] == graph.anchor_score
    assert data['target']['distortion_areas'] == {'clean': 1.0}
    assert data['relation'] == graph.relation
    for record, region in zip(data['regions'], graph.regions):
        assert set(record) == {'id', 'bbox', 'area', 'anchor', 'target', 'relation', 'mask'}
        assert record['mask']['size'] == [48, 64] and isinstance(record['mask']['counts'], str)
        mask = rle_decode(record['mask'])
        np.testing.assert_array_equal(mask, graph.mask(region.id))
        assert record['area'] == int(mask.sum())
        rows, cols = np.nonzero(mask)
        assert record['bbox'] == [cols.min(), rows.min(), cols.max() - cols.min() + 1,
                                  rows.max() - rows.min() + 1]
        assert record['anchor'] == {'distortion': region.anchor.distortion,
                                    'severity': region.anchor.severity,
                                    'score': region.anchor.score}
    json.dumps(data, allow_nan=False)


@pytest.mark.parametrize('side, change, message', [
    ('anchor', {'distortion': 'fog'}, "unknown distortion 'fog'"),
    ('anchor', {'distortion': 15}, 'unknown distortion 15'),
    ('anchor', {'severity': 'extreme'}, "unknown severity 'extreme'"),
    ('anchor', {'score': 1.5}, 'score 1.5'),
    ('target', {'score': float('nan')}, 'score nan'),
    ('target', {'score': -0.1}, 'score -0.1'),
    ('target', {'score': '0.5'}, "score '0.5'"),
    ('target', {'distortion': 'clean', 'severity': 'severe'},
     "distortion 'clean' with severity 'severe'"),
    ('anchor', {'severity': 'clean'}, "distortion 'blur' with severity 'clean'"),
])
def test_invalid_labels_are_rejected(side, change, message):
    labels = {'distortion': ['clean', 'blur'], 'severity': ['clean', 'minor'], 'score': [0.9, 0.5]}
    bad = {k: list(v) for k, v in labels.items()}
    for key, value in change.items():
        bad[key][1] = value
    label_map = np.array([[0, 0, 1], [0, 1, 1]])
    sides = {'anchor': labels, 'target': labels, side: bad}
    with pytest.raises(PandaInputError, match=f'region 1 \\({side}\\).*{message}'):
        DistortionGraph.from_labels(label_map, sides['anchor'], sides['target'])


def test_invalid_region_objects_are_rejected():
    graph = grid_graph()
    regions = graph.regions
    cases = [
        (replace(regions[2], relation='better'), "region 2: unknown relation 'better'"),
        (replace(regions[2], anchor=RegionLabel('fog', 'minor', 0.5)), "unknown distortion 'fog'"),
        (replace(regions[2], anchor=RegionLabel('blur', 'minor', 1.5)), 'score 1.5'),
        (replace(regions[2], target=RegionLabel('clean', 'severe', 0.5)), "severity 'severe'"),
        (replace(regions[2], bbox=(0, 0, 5, 5)), 'region 2: bbox'),
        (replace(regions[2], area=7), 'region 2: area 7'),
        (replace(regions[2], id=9), 'region id 9'),
    ]
    for bad, message in cases:
        with pytest.raises(PandaInputError, match=message):
            DistortionGraph(graph.label_map, regions[:2] + [bad] + regions[3:])
    with pytest.raises(PandaInputError, match='duplicate region id 1'):
        DistortionGraph(graph.label_map, regions[:2] + [regions[1]] + regions[3:])
    with pytest.raises(PandaInputError, match='region count mismatch'):
        DistortionGraph(graph.label_map, regions[:8])
    with pytest.raises(PandaInputError, match='relation'):
        grid_graph(relations=['better'] * 9)


def test_constructor_takes_region_objects():
    label_map = np.array([[0, 0, -1], [1, 1, 1]], np.int16)
    regions = [
        Region(id=1, bbox=(np.int64(0), 1, 3, 1), area=np.int64(3),
               anchor=RegionLabel('noise', 'minor', np.float32(0.5)),
               target=RegionLabel('clean', 'clean', 1), relation='significantly_worse'),
        Region(id=0, bbox=(0, 0, 2, 1), area=2, anchor=RegionLabel('clean', 'clean', 0.9),
               target=RegionLabel('clean', 'clean', 0.9), relation='same'),
    ]
    graph = DistortionGraph(label_map, regions, metadata={'pair': 'toy'})
    assert [r.id for r in graph.regions] == [0, 1]
    assert graph.regions[1].bbox == (0, 1, 3, 1) and type(graph.regions[1].area) is int
    assert type(graph.regions[1].target.score) is float
    assert graph.label_map.dtype == np.int32
    assert graph.anchor_score == pytest.approx((2 * 0.9 + 3 * 0.5) / 5)
    assert DistortionGraph.from_json(graph.to_json()) == graph


def test_region_order_is_normalised_to_ids():
    graph = grid_graph()
    assert DistortionGraph(graph.label_map, graph.regions[::-1], metadata=graph.metadata) == graph


def test_invalid_label_maps_and_counts_are_rejected():
    labels = {'distortion': ['clean'] * 2, 'severity': ['clean'] * 2, 'score': [1.0, 1.0]}
    with pytest.raises(PandaInputError, match='region count mismatch'):
        DistortionGraph.from_labels(np.array([[0, 1, 2]]), labels, labels)
    with pytest.raises(PandaInputError, match='-2'):
        DistortionGraph.from_labels(np.array([[0, 1, -2]]), labels, labels)
    with pytest.raises(PandaInputError, match='integers'):
        DistortionGraph.from_labels(np.array([[0.0, 1.0]]), labels, labels)
    with pytest.raises(PandaInputError, match='HxW'):
        DistortionGraph.from_labels(np.array([0, 1]), labels, labels)
    three = {'distortion': ['clean'] * 3, 'severity': ['clean'] * 3, 'score': [1.0] * 3}
    with pytest.raises(PandaInputError, match='region 1 has no pixels'):
        DistortionGraph.from_labels(np.array([[0, 2, 2]]), three, three)
    with pytest.raises(PandaInputError, match="lack 'score'"):
        DistortionGraph.from_labels(np.array([[0, 1]]), {'distortion': [0, 0], 'severity': [0, 0]},
                                    labels)
    with pytest.raises(PandaInputError, match='metadata'):
        DistortionGraph.from_labels(np.array([[0, 1]]), labels, labels, metadata={'x': object()})


def _graph_dict() -> dict:
    return random_graph().to_dict()


def test_bad_schema_and_missing_keys_are_rejected():
    data = _graph_dict()
    data['schema'] = 'panda-dg/0'
    with pytest.raises(PandaInputError, match="schema 'panda-dg/0' is not supported"):
        DistortionGraph.from_dict(data)
    del data['schema']
    with pytest.raises(PandaInputError, match='schema None'):
        DistortionGraph.from_json(json.dumps(data))
    data = _graph_dict()
    del data['relation']
    with pytest.raises(PandaInputError, match='lacks key.*relation'):
        DistortionGraph.from_dict(data)
    data = _graph_dict()
    del data['regions'][3]['target']['score']
    with pytest.raises(PandaInputError, match=r'region 3 \(target\) lacks key.*score'):
        DistortionGraph.from_dict(data)
    with pytest.raises(PandaInputError, match='not valid JSON'):
        DistortionGraph.from_json('{"schema": ')
    with pytest.raises(PandaInputError, match='neither JSON text nor an existing file'):
        DistortionGraph.from_json('missing/graph.json')


def test_overlapping_or_missized_masks_in_json_are_rejected():
    data = _graph_dict()
    data['regions'][4]['mask'] = data['regions'][2]['mask']
    with pytest.raises(PandaInputError, match='region 4: mask overlaps region 2'):
        DistortionGraph.from_dict(data)
    data = _graph_dict()
    data['regions'][1]['mask'] = {'size': [48, 63], 'counts': [48 * 63]}
    with pytest.raises(PandaInputError, match=r'mask size \[48, 63\] differs from image_size'):
        DistortionGraph.from_dict(data)


def test_duplicate_ids_and_inconsistent_fields_in_json_are_rejected():
    data = _graph_dict()
    data['regions'][2]['id'] = 1
    with pytest.raises(PandaInputError, match='duplicate region id 1'):
        DistortionGraph.from_dict(data)
    data = _graph_dict()
    data['regions'][0]['anchor']['score'] = 1.5
    with pytest.raises(PandaInputError, match=r'region 0 \(anchor\): score 1.5'):
        DistortionGraph.from_dict(data)
    data = _graph_dict()
    data['regions'][0]['relation'] = 'better'
    with pytest.raises(PandaInputError, match="region 0: unknown relation 'better'"):
        DistortionGraph.from_dict(data)
    data = _graph_dict()
    data['anchor']['score'] = 0.0 if data['anchor']['score'] > 0.5 else 1.0
    with pytest.raises(PandaInputError, match='anchor score'):
        DistortionGraph.from_dict(data)
    data = _graph_dict()
    data['regions'][5]['area'] += 1
    with pytest.raises(PandaInputError, match='region 5: area'):
        DistortionGraph.from_dict(data)


def test_to_prompt_mentions_every_region_and_is_deterministic():
    graph = grid_graph()
    prompt = graph.to_prompt()
    lines = prompt.splitlines()
    assert len(lines) == 1 + len(graph)
    assert '512x512' in lines[0] and '9 regions' in lines[0]
    assert 'anchor relative to the target' in lines[0]
    assert f'anchor {graph.anchor_score:.2f}' in lines[0] and graph.relation in lines[0]
    for region, line in zip(graph.regions, lines[1:]):
        assert line.startswith(f'R{region.id} [x={region.bbox[0]} y={region.bbox[1]} ')
        assert line.endswith(f'-> anchor {region.relation}')
    assert lines[5] == ('R4 [x=200 y=100 w=150 h=200, 11.4% of image] anchor: haze/moderate '
                        '(0.00) | target: clean (0.30) -> anchor significantly_worse')
    assert prompt == graph.to_prompt()
    assert prompt == DistortionGraph.from_json(graph.to_json()).to_prompt()


def _check_png(path) -> None:
    with Image.open(path) as image:
        assert image.format == 'PNG'
        pixels = np.asarray(image.convert('RGB'))
    assert pixels.shape[1] >= 600
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20


def test_render_writes_a_readable_png(tmp_path):
    graph = grid_graph()
    astronaut = data.astronaut()
    blurred = (filters.gaussian(astronaut, sigma=3, channel_axis=-1) * 255).round().astype(np.uint8)
    path = graph.render(tmp_path / 'with_images.png', blurred, astronaut)
    assert path.is_file()
    _check_png(path)
    path = random_graph().render(tmp_path / 'grey.png')
    _check_png(path)
    with pytest.raises(PandaInputError, match='anchor_image'):
        graph.render(tmp_path / 'bad.png', astronaut[:100], astronaut)


def textured_graph() -> DistortionGraph:
    graph = random_graph()
    anchor = {'distortion': [r.anchor.distortion for r in graph.regions],
              'severity': [r.anchor.severity for r in graph.regions],
              'score': [r.anchor.score for r in graph.regions],
              'texture': np.linspace(0.3, 0.9, len(graph))}
    target = {'distortion': ['clean'] * len(graph), 'severity': ['clean'] * len(graph),
              'score': [1.0] * len(graph), 'texture': [1.0] * len(graph)}
    return DistortionGraph.from_labels(graph.label_map, anchor, target, metadata={'mode': 'reference'})


def test_texture_round_trips_and_aggregates_by_area():
    graph = textured_graph()
    areas = np.array([r.area for r in graph.regions])
    textures = np.array([r.anchor.texture for r in graph.regions])
    assert graph.anchor_texture == pytest.approx(float(areas @ textures / areas.sum()))
    assert graph.target_texture == 1.0
    data = graph.to_dict()
    assert data['anchor']['texture'] == graph.anchor_texture
    assert data['regions'][0]['anchor']['texture'] == textures[0]
    assert DistortionGraph.from_json(graph.to_json()) == graph
    assert 'texture 0.30' in graph.to_prompt().splitlines()[1]
    assert random_graph().anchor_texture is None and 'texture' not in random_graph().to_dict()['anchor']


def test_a_file_of_the_previous_schema_still_loads():
    graph = DistortionGraph.from_json(Path(__file__).parent / 'data' / 'graph_panda_dg1.json')
    assert len(graph) == 4 and graph.anchor_score == pytest.approx(0.765)
    assert graph.anchor_texture is None and graph.regions[0].anchor == RegionLabel('blur', 'severe', 0.41)
    assert graph.to_dict()['schema'] == 'panda-dg/2'


def test_a_wrong_or_partial_texture_is_refused():
    data = textured_graph().to_dict()
    data['anchor']['texture'] = 0.5
    with pytest.raises(PandaInputError, match='anchor texture 0.5 does not match'):
        DistortionGraph.from_dict(data)
    data = textured_graph().to_dict()
    del data['regions'][0]['anchor']['texture']
    with pytest.raises(PandaInputError, match='anchor texture'):
        DistortionGraph.from_dict(data)
    data = textured_graph().to_dict()
    data['regions'][0]['anchor']['texture'] = 1.5
    with pytest.raises(PandaInputError, match=r'texture 1.5 is not accepted; accepted: a finite number in \[0, 1\] or None'):
        DistortionGraph.from_dict(data)


def test_a_label_map_measured_once_gives_the_same_graph_and_is_checked_the_same():
    rng = np.random.default_rng(3)
    label_map = np.repeat(np.repeat(rng.integers(0, 5, (6, 8)), 4, 0), 4, 1)
    label_map[0, :3] = -1
    count = int(label_map.max()) + 1
    distortion = rng.integers(1, 15, count)
    labels = {'distortion': distortion, 'severity': rng.integers(1, 4, count), 'score': rng.random(count)}
    measured = measure_label_map(label_map)
    assert not measured.labels.flags.writeable and measured.labels.dtype == np.int32
    given = DistortionGraph.from_labels(measured, labels, labels, metadata={'m': 1})
    assert given.to_json() == DistortionGraph.from_labels(label_map, labels, labels, metadata={'m': 1}).to_json()
    with pytest.raises(PandaInputError, match='-2'):
        measure_label_map(np.array([[0, 1, -2]]))
    with pytest.raises(PandaInputError, match='region 1 has no pixels'):
        three = {'distortion': ['clean'] * 3, 'severity': ['clean'] * 3, 'score': [1.0] * 3}
        DistortionGraph.from_labels(measure_label_map(np.array([[0, 2, 2]])), three, three)
