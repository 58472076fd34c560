"""One default everywhere: ``panda compare A B`` is reference mode (B the reference), the
paper's mode is ``--pairwise``, swapped arguments warn, paths are checked before torch is
imported, and the duel of two folders ends with a folder summary."""
import csv
import json
import subprocess
import sys
import warnings

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import panda_plugin
from panda_plugin.adapters.cli import main
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.image_io import save_image, square_crop


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    """``clean`` and ``damaged`` folders: coffee blurred with sigma 6, rocket with noise 0.15."""
    root = tmp_path_factory.mktemp('one_default')
    rng = np.random.default_rng(0)
    for name in ('coffee', 'rocket'):
        clean = square_crop(packaged_image('skimage', name), 160)
        damaged = (cv2.GaussianBlur(clean, (0, 0), 6) if name == 'coffee' else
                   np.clip(clean + rng.normal(0, 0.15 * 255, clean.shape), 0, 255).astype(np.uint8))
        for folder, image in (('clean', clean), ('damaged', damaged)):
            (root / folder).mkdir(exist_ok=True)
            save_image(root / folder / f'{name}.png', image)
    return root


def run_cli(*args, cwd=None):
    """``panda ARGS`` in a fresh interpreter; also says whether torch was imported."""
    script = ('import sys; from panda_plugin.adapters.cli import main; code = main(sys.argv[1:]); '
              "print('torch imported' if 'torch' in sys.modules else 'torch not imported'); sys.exit(code)")
    return subprocess.run([sys.executable, '-c', script, *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize('args, named', [
    (['compare', '{root}/restord', '{root}/clean'], "restored '{root}/restord' does not exist"),
    (['compare', '{root}/damaged/coffee.png', '{root}/nope.png'], "reference '{root}/nope.png' does not exist"),
    (['compare', '{root}/damaged', '{root}/clean/coffee.png', '--pairwise'],
     "anchor '{root}/damaged' is a folder, target '{root}/clean/coffee.png' is a file"),
    (['score', '-t', '{root}/nope', '-r', '{root}/clean'], "-t '{root}/nope' does not exist"),
    (['duel', '{root}/damaged', '{root}/clean', '--reference', '{root}/refs'],
     "--reference '{root}/refs' does not exist"),
])
def test_missing_paths_are_named_before_torch_is_imported(folders, args, named):
    result = run_cli(*[arg.format(root=folders) for arg in args])
    assert result.returncode == 2
    assert result.stderr.strip() == f'panda {args[0]}: error: ' + named.format(root=folders) + (
        '; accepted: an image file or a folder' if 'exist' in named else
        '; accepted: anchor and target both image files or both folders')
    assert result.stdout.strip() == 'torch not imported'


def test_a_missing_folder_names_its_missing_parent(tmp_path):
    result = run_cli('score', '-t', tmp_path / 'a' / 'b.png', '-r', tmp_path)
    assert result.returncode == 2 and "(nor does its folder '" in result.stderr and 'Traceback' not in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_cuda_without_cuda_is_a_panda_input_error_in_pyiqa():
    import pyiqa

    for device in ('cuda', 'cuda:0', torch.device('cuda')):
        with pytest.raises(PandaInputError, match="device 'cuda.*CUDA is not available"):
            pyiqa.create_metric('panda', device=device)
    metric = pyiqa.create_metric('panda', device='cpu')
    with pytest.raises(PandaInputError, match='CUDA is not available'):
        metric.net.cuda()
    metric.net.to(torch.float32)  # dtypes and the CPU stay allowed


def test_compare_of_pil_images_prints_no_numpy_warning(folders):
    images = [Image.open(folders / folder / 'coffee.png') for folder in ('damaged', 'clean')]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        graph = panda_plugin.compare(*images)
    assert graph.metadata['mode'] == 'reference'


def test_compare_defaults_to_reference_mode_and_says_so(folders, capsys):
    pair = [str(folders / folder / 'coffee.png') for folder in ('damaged', 'clean')]
    assert main(['compare', *pair]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith('reference mode:') and 'restored' in lines[1] and 'reference' in lines[1]
    assert 'whole image: restored' in captured.out and 'reference 1.000' in captured.out
    assert 'warning' not in captured.err
    assert main(['compare', *pair, '--pairwise']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("pairwise mode (the paper's)") and 'anchor' in lines[1] and 'target' in lines[1]
    assert main(['compare', *pair, '--pairwise', '--reference']) == 2
    assert 'exclude each other' in capsys.readouterr().err


def test_the_picture_names_the_mode(folders):
    from panda_plugin.adapters.pictures.graph import side_titles

    pair = [folders / folder / 'coffee.png' for folder in ('damaged', 'clean')]
    assert side_titles(panda_plugin.compare(*pair, segmenter='grid:2x2')) == ('Restored', 'Reference')
    assert side_titles(panda_plugin.compare(*pair, segmenter='grid:2x2', pairwise=True)) == ('Anchor', 'Target')


def test_swapped_pair_warns_in_one_line(folders, capsys):
    clean, blurred = folders / 'clean' / 'coffee.png', folders / 'damaged' / 'coffee.png'
    assert main(['compare', str(clean), str(blurred)]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line]
    assert warned == [f"panda compare: warning: the reference '{blurred}' looks more degraded than the restored "
                      f"image '{clean}' (the network finds the restored image significantly better); the two may be "
                      'swapped: give the restored image first and the reference second']


def test_swapped_folders_warn_once_and_the_csv_says_which(folders, tmp_path, capsys):
    assert main(['compare', str(folders / 'damaged'), str(folders / 'clean'), '--csv', str(tmp_path / 'a.csv')]) == 0
    assert 'warning' not in capsys.readouterr().err
    rows = list(csv.DictReader((tmp_path / 'a.csv').open(encoding='utf-8')))
    assert [(row['mode'], row['swap_warning']) for row in rows] == [('reference', 'no')] * 2
    assert rows[0]['restored'].endswith('damaged/coffee.png') and rows[0]['reference'].endswith('clean/coffee.png')
    assert main(['compare', str(folders / 'clean'), str(folders / 'damaged'), '--csv', str(tmp_path / 'b.csv')]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if 'warning' in line]
    assert err == ['panda compare: warning: in 2 of 2 pairs (coffee, rocket) the reference looks more degraded than '
                   'the restored image; the two may be swapped: give the restored images first and the references '
                   'second']
    rows = list(csv.DictReader((tmp_path / 'b.csv').open(encoding='utf-8')))
    assert [row['swap_warning'] for row in rows] == ['yes', 'yes']
    assert main(['compare', str(folders / 'damaged'), str(folders / 'clean'), '--pairwise',
                 '--csv', str(tmp_path / 'c.csv')]) == 0
    header = (tmp_path / 'c.csv').read_text(encoding='utf-8').splitlines()[0].split(',')
    assert header[:6] == ['name', 'mode', 'anchor', 'target', 'score', 'target_image_score']


def test_duel_of_folders_ends_with_the_folder_summary(folders, tmp_path, capsys):
    out = tmp_path / 'duel.json'
    assert main(['duel', str(folders / 'damaged'), str(folders / 'clean'), '--reference', str(folders / 'clean'),
                 '--json', str(out), '--report', str(tmp_path / 'duel.html')]) == 0
    text = capsys.readouterr().out
    data = json.loads(out.read_text())
    summary = data['summary']
    # B is the reference itself: it scores 1 and wins every image and every region that is not a tie
    assert summary['mean_score']['b'] == 1.0 and summary['images_won'] == {'a': 0, 'b': 2, 'tie': 0}
    assert summary['regions_won']['a'] == 0 and summary['distortions_b'] == {}
    total = sum(len(image['regions']) for image in data['images'])
    assert summary['regions_won']['total'] == total == summary['regions_won']['b'] + summary['regions_won']['tie']
    assert summary['mean_score']['a'] == pytest.approx(np.mean([image['score_a'] for image in data['images']]))
    assert f'all 2 images: mean score damaged {summary["mean_score"]["a"]:.4f}, clean 1.0000' in text
    assert 'images won (difference 0.1 or more): damaged 0, clean 2, tie 0' in text
    assert 'clean leaves most (mean share of the image): nothing visible' in text
    page = (tmp_path / 'duel.html').read_text(encoding='utf-8')
    assert '<h2>Summary</h2>' in page and page.count('data:image/png;base64,') == 2
    assert f'<td class=l>damaged</td><td>{summary["mean_score"]["a"]:.4f}</td><td>0</td>' in page
    assert f'<td class=l>clean</td><td>1.0000</td><td>2</td><td>2</td><td>{summary["regions_won"]["b"]}</td>' in page
