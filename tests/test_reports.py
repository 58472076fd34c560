"""Folder comparison, its CSV and HTML report (opened in headless Chromium), ``panda score``,
duels and quality-map PNGs."""
import base64
import csv
import dataclasses
import html
import json
import re
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from panda_plugin.adapters.cli import main
from panda_plugin.adapters.reports import classic_scores, write_report
from panda_plugin.adapters.score_tables import worst_regions
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.image_io import save_image, square_crop
from panda_plugin.engine.panda.duel import duel
from panda_plugin.engine.panda.folder_compare import PairResult, compare_pairs
from panda_plugin.engine.panda.folders import pair_folders
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


def test_batches_give_the_graphs_of_pairs_taken_one_at_a_time(folders, results):
    pairs = list(pair_folders(folders / 'restored', folders / 'reference'))
    batched = compare_pairs(pairs, batch_size=2, progress=False)
    assert [r.name for r in batched] == [r.name for r in results]
    for one, together in zip(results, batched):
        assert together.graph.anchor_score == pytest.approx(one.graph.anchor_score, abs=1e-6)
        assert [r.anchor.distortion for r in together.graph.regions] == [r.anchor.distortion for r in one.graph.regions]
    for wrong in (0, 1.5, True):
        with pytest.raises(PandaInputError, match='batch size'):
            compare_pairs(pairs, batch_size=wrong, progress=False)


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


def _printed_worst(text: str) -> list[str]:
    """Image names of the printed worst-regions list, in order."""
    lines = text.split('worst regions:\n', 1)[1].splitlines()
    return [line.strip().split(' region ')[0] for line in lines if line.startswith('  ') and ' region ' in line]


def test_compare_folders_caps_worst_regions_per_image(folders, capsys):
    assert main(['compare', str(folders / 'restored'), str(folders / 'reference'), '--worst', '10',
                 '--worst-per-image', '2']) == 0
    names = _printed_worst(capsys.readouterr().out)
    assert sorted(names) == ['coffee', 'coffee', 'rocket <&>', 'rocket <&>']
    assert main(['compare', str(folders / 'restored'), str(folders / 'reference')]) == 0
    names = _printed_worst(capsys.readouterr().out)
    assert len(names) == 10 and all(names.count(name) == 5 for name in set(names))  # default: 5 per image
    with pytest.raises(SystemExit):
        main(['compare', str(folders / 'restored'), str(folders / 'reference'), '--worst-per-image', '0'])
    assert "'0'; accepted: an integer >= 1" in capsys.readouterr().err


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
    assert len(sources) == len(results)  # reference mode: restored | reference | score map
    for source in sources:
        _, data = re.fullmatch(r'data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)', source).groups()
        decoded = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
        assert decoded is not None and 0 < decoded.shape[1] <= 1200
    assert 'rocket &lt;&amp;&gt;' in page and '<script' not in page
    assert '>texture<' in page  # the region tables' texture column
    assert not re.search(r'(src|href)="(https?:|file:|/)', page)


def test_report_columns_from_pyiqa(results, tmp_path):
    import pyiqa
    import torch

    page = write_report(results, tmp_path / 'report.html', progress=False).read_text(encoding='utf-8')
    head = re.search(r'<table class="images".*?</thead>', page).group(0)
    assert re.findall(r'<th[^>]*>([^<]+)</th>', head)[:6] == ['image', 'PANDA score', 'texture', 'PSNR (dB)', 'SSIM',
                                                              'MS-SSIM']
    pair = [torch.from_numpy(cv2.imread(str(p))[:, :, ::-1].copy()).permute(2, 0, 1)[None].float() / 255
            for p in (results[0].restored, results[0].reference)]
    psnr = float(pyiqa.create_metric('psnr', device='cpu')(*pair))
    row = re.search(r'<tr style="[^"]*"><td class=l><a href="#image-coffee">coffee</a></td>(.*?)</tr>', page).group(1)
    cells = re.findall(r'<td>([^<]*)</td>', row)
    assert cells[2] == f'{psnr:.2f}' and cells[4] == '&ndash;'  # 96 px: too small for MS-SSIM
    assert 'MS-SSIM needs images of at least 176 px' in page
    # MS-SSIM from 176 px a side, 1 for an image against itself
    big = tmp_path / 'big.png'
    save_image(big, square_crop(packaged_image('skimage', 'coffee'), 192))
    same = PairResult('big', big, big, compare(big, big))
    assert classic_scores([same])[same.name]['ms_ssim'] == pytest.approx(1.0, abs=1e-4)


def test_report_texture_column_is_each_images_whole_texture(results, tmp_path):
    page = write_report(results, tmp_path / 'report.html', progress=False).read_text(encoding='utf-8')
    head = re.findall(r'<th[^>]*>([^<]+)</th>', re.search(r'<table class="images".*?</thead>', page).group(0))
    column = head.index('texture')
    textures = {}
    for result in results:
        name = re.escape(html.escape(result.name))
        row = re.search(rf'<tr style="[^"]*"><td class=l><a href="[^"]*">{name}</a></td>(.*?)</tr>', page).group(1)
        textures[result.name] = float(re.findall(r'<td>([^<]*)</td>', row)[column - 1])
        assert textures[result.name] == pytest.approx(result.graph.anchor_texture, abs=1e-6)
        assert 0 < textures[result.name] < 1  # blurred: texture lost, not identical
    assert len(set(textures.values())) == 2
    assert '<label for="order-texture">texture</label>' in page


def test_worst_regions_at_most_n_from_one_image(results, tmp_path):
    everything = worst_regions(results, 1000)
    capped = worst_regions(results, 20, most_per_image=3)
    assert len(capped) == 6 and all(sum(r['name'] == name for r in capped) == 3 for name in ('coffee', 'rocket <&>'))
    assert [r['score'] for r in capped] == sorted(r['score'] for r in capped)
    for name in ('coffee', 'rocket <&>'):  # each image's three worst
        assert [r['region'] for r in capped if r['name'] == name] == [r['region'] for r in everything if r['name'] == name][:3]
    page = write_report(results, tmp_path / 'report.html', per_image=2, progress=False).read_text(encoding='utf-8')
    across = re.search(r'Worst regions across all images</h2>.*?</table>', page, re.DOTALL).group(0)
    assert across.count('href="#image-coffee"') == 2 and across.count('href="#image-rocket') == 2


_PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push('error: ' + (e.message || (e.target && e.target.tagName))); }, true);
var original = console.error;
console.error = function () { window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' ')); original.apply(console, arguments); };
function order(selector) {
  return Array.prototype.slice.call(document.querySelectorAll(selector))
    .map(function (e) { return [e.getBoundingClientRect().top, e.textContent]; })
    .sort(function (a, b) { return a[0] - b[0]; }).map(function (p) { return p[1]; });
}
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images), out = document.createElement('pre');
  var bars = Array.prototype.slice.call(document.querySelectorAll('.colourbar .ramp'));
  var orders = {};
  Array.prototype.slice.call(document.querySelectorAll('input.order')).forEach(function (radio) {
    radio.checked = true;
    orders[radio.id] = {table: order('table.images td:first-child'), sections: order('section h2')};
  });
  out.id = 'panda-check';
  out.textContent = JSON.stringify({
    widths: images.map(function (i) { return i.complete ? i.naturalWidth : 0; }),
    shown: images.map(function (i) { return i.getBoundingClientRect().right; }),
    scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
    bars: bars.map(function (b) { return [b.getBoundingClientRect().width, getComputedStyle(b).backgroundImage]; }),
    orders: orders, errors: window.__errors});
  document.body.appendChild(out);
});
</script>"""


def _chromium():
    return next((shutil.which(name) for name in ('chromium', 'chromium-browser', 'google-chrome')
                 if shutil.which(name)), None)


@pytest.mark.skipif(_chromium() is None, reason='headless Chromium not installed (Debian: apt-get install chromium); '
                                                 'the HTML report is not checked in a browser')
def test_report_in_headless_chromium_at_1280_px(results, tmp_path):
    """The page loads without errors, fits a 1280-px window, shows a colour bar per image,
    and each sort link orders the table and the sections alike."""
    # names in the reverse order of the scores, so that the two orders differ
    ranked = sorted(results, key=lambda r: r.graph.anchor_score)
    results = [dataclasses.replace(r, name=f'{letter} {r.name}') for r, letter in zip(ranked, 'zyx')]
    page = write_report(results, tmp_path / 'report.html', progress=False).read_text(encoding='utf-8')
    probe = tmp_path / 'probe.html'
    probe.write_text(page.replace('<head>', '<head>' + _PROBE, 1), encoding='utf-8')
    run = subprocess.run([_chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--window-size=1280,900',
                          '--virtual-time-budget=10000', '--enable-logging=stderr', '--v=0',
                          f'--user-data-dir={tmp_path / "profile"}', '--dump-dom', probe.as_uri()],
                         check=False, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="panda-check">(.*?)</pre>', run.stdout)
    assert found, f'the page did not finish loading: {run.stderr[-2000:]}'
    check = json.loads(html.unescape(found.group(1)))
    assert check['errors'] == []
    assert [line for line in run.stderr.splitlines() if ':CONSOLE' in line] == []
    assert len(check['widths']) == len(results) and all(width > 0 for width in check['widths'])
    assert check['clientWidth'] <= 1280 and check['scrollWidth'] <= check['clientWidth']
    assert all(right <= check['clientWidth'] for right in check['shown'])
    assert len(check['bars']) == len(results)
    assert all(width >= 100 and 'linear-gradient' in style for width, style in check['bars'])
    classic = classic_scores(results)
    by = {'order-score': [r.name for r in results], 'order-name': sorted(r.name for r in results),
          'order-texture': [r.name for r in sorted(results, key=lambda r: r.graph.anchor_texture)],
          **{f'order-{m}': sorted(classic, key=lambda n, m=m: classic[n][m]) for m in ('psnr', 'ssim')}}
    assert by['order-score'] != by['order-name']
    assert set(check['orders']) == {'order-score', 'order-texture', 'order-name', 'order-psnr',
                                    'order-ssim'}  # no MS-SSIM at 96 px
    for key, orders in check['orders'].items():
        sections = [re.sub(r': [0-9.]+$', '', title) for title in orders['sections']]
        assert orders['table'] == sections
        assert sections == by[key], key


def test_duel_region_by_region(folders, tmp_path, capsys):
    match = duel(folders / 'restored' / 'coffee.png', folders / 'noisy' / 'coffee.png',
                 folders / 'reference' / 'coffee.png', names=('blurred', 'noisy'))
    single_a = compare(folders / 'restored' / 'coffee.png', folders / 'reference' / 'coffee.png')
    assert match.score_a == pytest.approx(single_a.anchor_score, abs=1e-6)
    assert match.texture_a == pytest.approx(single_a.anchor_texture, abs=1e-6)
    assert all(0 <= r.texture_a <= 1 and 0 <= r.texture_b <= 1 for r in match.regions)
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
    assert data['images'][0]['regions'][0].keys() >= {'score_a', 'score_b', 'difference', 'winner', 'distortion_a',
                                                       'texture_a', 'texture_b'}
    assert data['images'][0]['schema'] == 'panda-duel/2' and 0 < data['images'][0]['texture_a'] <= 1
    assert len(list((tmp_path / 'viz').glob('*_duel.png'))) == 2
    out = capsys.readouterr().out
    assert 'leaves:' in out and '  texture: restored ' in out


def test_spatial_png_of_one_pair(folders, tmp_path):
    assert main(['compare', str(folders / 'restored' / 'coffee.png'), str(folders / 'reference' / 'coffee.png'),
                 '--spatial', str(tmp_path / 'map.png')]) == 0
    picture = cv2.imread(str(tmp_path / 'map.png'))
    assert picture.shape == (96, 96, 3)
