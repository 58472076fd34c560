"""BasicSR monitoring over clicked objects: a clicks file keyed by image name."""
from __future__ import annotations

import json

import pytest

import panda_plugin
from panda_plugin.adapters.cli import main
from panda_plugin.core.errors import PandaInputError
from tests.test_integrations import SR_OPTIONS, sr_data  # noqa: F401 (fixture)


def test_clicks_for_matches_names_with_or_without_extension(tmp_path):
    from panda_plugin.adapters.basicsr.click_monitor import clicks_for

    path = tmp_path / 'clicks.json'
    path.write_text(json.dumps({'astronaut.png': [[1, 2]], 'camera': '3,4'}))
    assert clicks_for(path, '/data/val/astronaut.png') == [[1, 2]]
    assert clicks_for(path, 'camera.png') == '3,4'
    assert clicks_for(path, 'coffee.png') is None
    bad = tmp_path / 'bad.json'
    bad.write_text('[1, 2]')
    with pytest.raises(PandaInputError, match='keyed by image name'):
        clicks_for(bad, 'x.png')


@pytest.mark.slow
def test_sr_validation_graphs_over_clicked_objects(sr_data, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    clicks = tmp_path / 'clicks.json'
    clicks.write_text(json.dumps({'astronaut.png': [[10, 10], [40, 20], [30, 50, 'stuff']]}))
    options = SR_OPTIONS.format(data=sr_data, iters=2).replace(
        'panda: {pictures: 1, worst_regions: 3}',
        f'panda: {{pictures: 1, worst_regions: 3, points: {clicks}, points_method: geodesic}}')
    path = tmp_path / 'sr.yml'
    path.write_text(options)
    assert main(['train', '-opt', str(path)]) == 0
    folder = tmp_path / 'experiments' / 'sr_tiny' / 'visualization'
    clicked = panda_plugin.DistortionGraph.from_json(folder / 'astronaut' / 'astronaut_2_panda.json')
    assert len(clicked.regions) == 3 and clicked.metadata['regions'] == 'points:geodesic'
    other = panda_plugin.DistortionGraph.from_json(folder / 'camera' / 'camera_2_panda.json')
    assert other.metadata.get('regions') != 'points:geodesic'
