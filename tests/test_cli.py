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
