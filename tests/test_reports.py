"""Folder comparison, its CSV and HTML report (opened in headless Chromium), ``panda score``,
duels and quality-map PNGs."""
import base64
import csv
import json
import re
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from panda_plugin.adapters.cli import main
from panda_plugin.adapters.reports import write_report
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.panda.duel import duel
from panda_plugin.engine.panda.folder_compare import compare_pairs
from panda_plugin.engine.panda.folders import pair_folders
from panda_plugin.engine.image_io import save_image, square_crop
from panda_plugin.engine.panda.predictor import compare

NAMES = ('coffee', 'rocket')


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    """restored (blurred), noisy and reference folders of two 96x96 images; one name <&> odd."""
    root = tmp_path_factory.mktemp('folders')
    rng = np.random.default_rng(0)
    for name in NAMES:
        clean = square_crop(packaged_image('skimage', name), 96)
        stem = name if name == 'coffee' else 'rocket <&>'
        for folder, image in (('reference', clean), ('restored', cv2.GaussianBlur(clean, (0, 0), 1.5)),
                              ('noisy', np.clip(clean + rng.normal(0, 12, clean.shape), 0, 255).astype(np.uint8))):
            (root / folder).mkdir(exist_ok=True)
            save_image(root / folder / f'{stem}.png', image)
    shutil.copy(root / 'reference' / 'coffee.png', root / 'reference' / 'unused.png')
    return root


@pytest.fixture(scope='module')
def results(folders):
    return compare_pairs(pair_folders(folders / 'restored', folders / 'reference'), progress=False)


def test_folder_scores_match_per_pair_calls(folders, results):
    assert [r.name for r in results] == ['coffee', 'rocket <&>']
    for result in results:
        single = compare(result.restored, result.reference)
        assert result.graph.anchor_score == pytest.approx(single.anchor_score, abs=1e-6)
        assert [r.anchor.distortion for r in result.graph.regions] == [r.anchor.distortion for r in single.regions]
        assert result.graph.metadata == single.metadata


def test_pairing_refuses_missing_names(folders, tmp_path):
    (tmp_path / 'only').mkdir()
    save_image(tmp_path / 'only' / 'zebra.png', np.zeros((40, 40, 3), np.uint8))
    with pytest.raises(PandaInputError, match="no image of the same name.*zebra"):
        pair_folders(tmp_path / 'only', folders / 'reference')


def test_compare_folders_command_writes_csv_report_and_maps(folders, tmp_path, capsys):
    out = tmp_path / 'out'
    assert main(['compare', str(folders / 'restored'), str(folders / 'reference'), '--csv', str(out / 's.csv'),
                 '--report', str(out / 'r.html'), '--spatial', str(out / 'maps'), '--worst', '3']) == 0
    text = capsys.readouterr().out
    assert '2 pairs (reference mode)' in text and 'worst regions:' in text
    rows = list(csv.DictReader((out / 's.csv').open(encoding='utf-8')))
    assert [row['name'] for row in rows] == ['coffee', 'rocket <&>']
    assert all(0 < float(row['score']) < 1 and row['main_distortion'] != 'clean' for row in rows)
    assert sorted(p.name for p in (out / 'maps').iterdir()) == ['coffee_map.png', 'rocket <&>_map.png']
    assert main(['compare', str(folders / 'restored'), str(folders / 'reference' / 'coffee.png')]) == 2
    assert 'is a folder' in capsys.readouterr().err


def test_score_command_like_pyiqa(folders, tmp_path, capsys):
    assert main(['score', '-t', str(folders / 'restored'), '-r', str(folders / 'reference'),
                 '--csv', str(tmp_path / 'scores.csv')]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith('coffee\t') and lines[2].startswith('mean\t')
    assert main(['score', '-t', str(folders / 'restored' / 'coffee.png'), '-r', str(folders / 'reference' / 'coffee.png')]) == 0
    assert capsys.readouterr().out.startswith('coffee\t')


def test_report_is_self_contained(results, tmp_path):
    page = write_report(results, tmp_path / 'report.html', progress=False).read_text(encoding='utf-8')
    sources = re.findall(r'<img[^>]* src="([^"]+)"', page)
    assert len(sources) == 2 * len(results)
    for source in sources:
        _, data = re.fullmatch(r'data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)', source).groups()
        decoded = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
        assert decoded is not None and decoded.size > 0
    assert 'rocket &lt;&amp;&gt;' in page and '<script' not in page
    assert not re.search(r'(src|href)="(https?:|file:|/)', page)


_PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push('error: ' + (e.message || (e.target && e.target.tagName))); }, true);
var original = console.error;
console.error = function () { window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' ')); original.apply(console, arguments); };
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images), out = document.createElement('pre');
  out.id = 'panda-check';
  out.textContent = JSON.stringify({widths: images.map(function (i) { return i.complete ? i.naturalWidth : 0; }), errors: window.__errors});
  document.body.appendChild(out);
});
</script>"""


def _chromium():
    return next((shutil.which(name) for name in ('chromium', 'chromium-browser', 'google-chrome')
                 if shutil.which(name)), None)


@pytest.mark.skipif(_chromium() is None, reason='headless Chromium not installed (Debian: apt-get install chromium); '
                                                 'the HTML report is not checked in a browser')
def test_report_loads_in_headless_chromium(results, tmp_path):
    page = write_report(results, tmp_path / 'report.html', progress=False).read_text(encoding='utf-8')
    probe = tmp_path / 'probe.html'
    probe.write_text(page.replace('<head>', '<head>' + _PROBE, 1), encoding='utf-8')
    run = subprocess.run([_chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=10000',
                          '--enable-logging=stderr', '--v=0', f'--user-data-dir={tmp_path / "profile"}',
                          '--dump-dom', probe.as_uri()], check=False, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="panda-check">(.*?)</pre>', run.stdout)
    assert found, f'the page did not finish loading: {run.stderr[-2000:]}'
    check = json.loads(found.group(1).replace('&quot;', '"').replace('&amp;', '&'))
    assert check['errors'] == []
    assert len(check['widths']) == 2 * len(results) and all(width > 0 for width in check['widths'])
    console = [line for line in run.stderr.splitlines() if ':CONSOLE' in line]
    assert console == []


def test_duel_region_by_region(folders, tmp_path, capsys):
    match = duel(folders / 'restored' / 'coffee.png', folders / 'noisy' / 'coffee.png',
                 folders / 'reference' / 'coffee.png', names=('blurred', 'noisy'))
    single_a = compare(folders / 'restored' / 'coffee.png', folders / 'reference' / 'coffee.png')
    assert match.score_a == pytest.approx(single_a.anchor_score, abs=1e-6)
    for region in match.regions:
        assert region.difference == pytest.approx(region.score_a - region.score_b)
        expected = 'tie' if abs(region.difference) < 0.1 else ('a' if region.difference > 0 else 'b')
        assert region.winner == expected
    summary = match.summary()
    assert summary['a_better']['area'] + summary['b_better']['area'] + summary['tie']['area'] == pytest.approx(1)
    # swapping A and B swaps the winners
    swapped = duel(folders / 'noisy' / 'coffee.png', folders / 'restored' / 'coffee.png', folders / 'reference' / 'coffee.png')
    assert [r.winner for r in swapped.regions] == [{'a': 'b', 'b': 'a', 'tie': 'tie'}[r.winner] for r in match.regions]
    assert main(['duel', str(folders / 'restored'), str(folders / 'noisy'), '--reference', str(folders / 'reference'),
                 '--json', str(tmp_path / 'duel.json'), '--viz', str(tmp_path / 'viz')]) == 0
    data = json.loads((tmp_path / 'duel.json').read_text(encoding='utf-8'))
    assert [image['name'] for image in data['images']] == ['coffee', 'rocket <&>']
    assert data['images'][0]['regions'][0].keys() >= {'score_a', 'score_b', 'difference', 'winner', 'distortion_a'}
    assert len(list((tmp_path / 'viz').glob('*_duel.png'))) == 2
    assert 'leaves:' in capsys.readouterr().out


def test_spatial_png_of_one_pair(folders, tmp_path):
    assert main(['compare', str(folders / 'restored' / 'coffee.png'), str(folders / 'reference' / 'coffee.png'),
                 '--spatial', str(tmp_path / 'map.png')]) == 0
    picture = cv2.imread(str(tmp_path / 'map.png'))
    assert picture.shape == (96, 96, 3)
