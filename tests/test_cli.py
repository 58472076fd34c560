import subprocess
import sys

from panda_plugin.adapters.cli import main
from panda_plugin.engine.data.lmdb_store import RecordReader


def test_make_dataset_command(image_folder, tmp_path, capsys):
    out = tmp_path / 'hard.lmdb'
    status = main(['make-dataset', '--images', str(image_folder), '--out', str(out), '--split', 'hard',
                   '--pairs-per-image', '2', '--size', '48', '--workers', '2'])
    assert status == 0
    assert 'wrote 8 hard pairs from 4 images' in capsys.readouterr().out
    assert len(RecordReader(out)) == 8


def test_bad_input_is_one_line_and_status_2(tmp_path):
    result = subprocess.run(
        [sys.executable, '-m', 'panda_plugin.adapters.cli', 'make-dataset', '--images', str(tmp_path / 'nope'),
         '--out', str(tmp_path / 'x.lmdb')], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count('\n') == 0 and 'Traceback' not in result.stderr
    assert 'nope' in result.stderr and 'does not exist' in result.stderr


def test_demo_writes_its_five_files(tmp_path, capsys):
    """README: ``panda demo`` degrades the quadrants of a held-out photograph (severe blur,
    moderate noise, severe JPEG, clean), compares it with the clean image (its reference, the
    default mode) and writes five files."""
    import cv2
    import numpy as np

    from panda_plugin import DistortionGraph
    from panda_plugin.engine.data.bundled import packaged_image
    from panda_plugin.engine.image_io import square_crop

    out = tmp_path / 'demo_output'
    assert main(['demo', '--out', str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ['pair.json', 'pair.png', 'quadrants.png', 'reference.png',
                                                      'restored.png']
    clean = square_crop(packaged_image('skimage', 'coffee'), 384)
    target = cv2.imread(str(out / 'reference.png'))[:, :, ::-1]
    anchor = cv2.imread(str(out / 'restored.png'))[:, :, ::-1]
    assert np.array_equal(target, clean)
    quadrants = cv2.imread(str(out / 'quadrants.png'), cv2.IMREAD_UNCHANGED)
    expected = np.array([[0, 1], [2, 3]]).repeat(192, 0).repeat(192, 1)
    assert np.array_equal(quadrants, expected)
    changed = [not np.array_equal(anchor[quadrants == q], clean[quadrants == q]) for q in range(4)]
    assert changed == [True, True, True, False]
    graph = DistortionGraph.from_json(out / 'pair.json')
    assert graph.metadata['mode'] == 'reference'
    assert [r.anchor.distortion for r in graph.regions] == ['blur', 'noise', 'compression', 'clean']
    assert [r.relation for r in graph.regions] == ['significantly_worse'] * 3 + ['same']
    # reference mode: the severity follows the score gap, so the moderate noise is severe for fidelity
    assert [r.anchor.severity for r in graph.regions] == ['severe'] * 3 + ['clean']
    assert [(r.target.distortion, r.target.score) for r in graph.regions] == [('clean', 1.0)] * 4
    # the picture: a real image, anchor and target side by side, in colour
    picture = cv2.imread(str(out / 'pair.png'))
    assert picture is not None and picture.shape[0] >= 384 and picture.shape[1] >= 2 * 384
    colours = np.unique(picture.reshape(-1, 3), axis=0)   # a palette PNG: up to 256 colours
    assert len(colours) >= 64 and picture.std() > 30
    left, right = np.split(picture[:, :picture.shape[1] // 2 * 2], 2, axis=1)
    assert np.abs(left.astype(int) - right).mean() > 5   # the degraded anchor beside the clean target
    table = capsys.readouterr().out
    assert table.count('reference mode') == 1 and 'blur/severe' in table and 'whole image: restored' in table


def test_every_command_is_a_typed_function_of_its_options(image_folder, tmp_path, capsys):
    """Each sub-command's handler is a plain function whose parameters are the parser's
    destinations, with the parser's defaults; it runs from Python without argparse."""
    import argparse
    import inspect

    from panda_plugin.adapters.cli.main import build_parser
    from panda_plugin.adapters.cli.points import regions_command

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert len(commands) == 16
    for name, parser in commands.items():
        handler = parser.get_default('handler')
        destinations = {action.dest for action in parser._actions} | ({'pipeline'} if name in ('train', 'test') else set())
        parameters = inspect.signature(handler).parameters
        assert set(parameters) <= destinations and handler.__name__.endswith('_command'), name
        for parameter in parameters.values():
            if parameter.default is not inspect.Parameter.empty:
                assert parser.get_default(parameter.name) == parameter.default, (name, parameter.name)
    image = sorted(image_folder.iterdir())[0]
    assert regions_command(image, out=tmp_path / 'labels.png', segmenter='grid:2x2') == 0
    assert 'grid:2x2: 4 regions' in capsys.readouterr().out and (tmp_path / 'labels.png').is_file()
