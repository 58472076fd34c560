"""Outputs are all or nothing: a killed writer leaves the previous file intact, readers never see
half a file, files get the mode ``open`` gives, and an output path that cannot be written is one
line before any work (missing folders are created). CSV cells are spreadsheet-safe."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from cli_checks import cli_error, snapshot

from panda_plugin.adapters.cli import main
from panda_plugin.adapters.score_tables import write_csv
from panda_plugin.core.atomic import write_atomic

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = {**os.environ, 'PYTHONPATH': str(ROOT)}


@pytest.fixture(scope='module')
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp('pair')
    image = cv2.resize(np.ascontiguousarray(__import__('skimage.data').data.astronaut()), (96, 96))
    cv2.imwrite(str(folder / 'a.png'), cv2.GaussianBlur(image, (5, 5), 2)[:, :, ::-1])
    cv2.imwrite(str(folder / 'b.png'), image[:, :, ::-1])
    return folder / 'a.png', folder / 'b.png'


def test_a_writer_killed_mid_write_leaves_the_previous_file_and_a_rerun_completes(tmp_path):
    target = tmp_path / 'graph.json'
    write_atomic(target, '{"previous": true}')
    script = f"""
import sys, time
from panda_plugin.core.atomic import atomic_path
with atomic_path({str(target)!r}) as temporary:
    with open(temporary, 'wb') as handle:
        handle.write(b'{{"half": ' + b'1' * 100000)
        handle.flush()
        print('writing', flush=True)
        time.sleep(60)
"""
    writer = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, text=True, env=ENVIRONMENT)
    assert writer.stdout.readline() == 'writing\n'
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert json.loads(target.read_text()) == {'previous': True}
    left = [p.name for p in tmp_path.iterdir() if p.name != 'graph.json']
    assert len(left) == 1 and left[0].startswith(f'.graph.json.{writer.pid}-')  # the dead writer's
    write_atomic(target, '{"rerun": true}')
    assert json.loads(target.read_text()) == {'rerun': True}
    assert [p.name for p in tmp_path.iterdir()] == ['graph.json']  # the rerun removed the leftover


def test_compare_killed_while_writing_keeps_every_previous_output(tmp_path, pair):
    outputs = {'--json': 'g.json', '--viz': 'g.png', '--csv': 's.csv', '--report': 'r.html', '--spatial': 'm.png'}
    arguments = ['compare', *map(str, pair), '--reference']
    arguments += [str(part) for option, name in outputs.items() for part in (option, tmp_path / name)]
    assert main(arguments) == 0
    before = snapshot(tmp_path)
    command = [sys.executable, '-m', 'panda_plugin.adapters.cli', *arguments]
    killed = False
    for _ in range(3):  # until one run is killed while a temporary file exists
        process = subprocess.Popen(command, env=ENVIRONMENT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None and not any(p.name.startswith('.') for p in tmp_path.iterdir()):
            time.sleep(0.001)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed = True
        process.wait(timeout=300)
        after = {name: data for name, data in snapshot(tmp_path).items() if not name.startswith('.')}
        assert after.keys() == before.keys()
        for name, data in after.items():  # each file is the previous one or a complete new one
            assert data == before[name] or name.endswith('.png') or data.endswith((b'}', b'\n', b'</html>')), name
        assert cv2.imread(str(tmp_path / 'g.png')) is not None and json.loads((tmp_path / 'g.json').read_text())
        if killed:
            break
    assert killed


def test_readers_never_see_a_torn_graph_json(tmp_path):
    target = tmp_path / 'graph.json'
    write_atomic(target, json.dumps({'writer': -1, 'data': [-1] * 20000}))
    script = f"""
import json, sys, time
from panda_plugin.core.atomic import write_atomic
end = time.time() + 1.5
while time.time() < end:
    write_atomic({str(target)!r}, json.dumps({{'writer': int(sys.argv[1]), 'data': [int(sys.argv[1])] * 20000}}))
"""
    writers = [subprocess.Popen([sys.executable, '-c', script, str(i)], env=ENVIRONMENT) for i in range(2)]
    reads = 0
    while any(w.poll() is None for w in writers):
        content = json.loads(target.read_text())
        assert set(content['data']) == {content['writer']}
        reads += 1
    assert reads > 50 and all(w.returncode == 0 for w in writers)


def test_files_get_the_mode_open_gives_under_the_umask(tmp_path):
    from panda_plugin.engine.panda.weights import export_weights, load_model

    network = load_model()
    import torch

    torch.save({'params': network.state_dict()}, tmp_path / 'net_g_1.pth')
    (tmp_path / 'opt.yml').write_text(yaml.safe_dump({'network_g': {'type': 'PANDA', **network.panda_config}}))
    previous = os.umask(0o022)
    try:
        export_weights(tmp_path / 'net_g_1.pth', tmp_path / 'opt.yml', tmp_path / 'w.safetensors')
        write_atomic(tmp_path / 'x.json', '{}')
        os.umask(0o077)
        write_atomic(tmp_path / 'private.json', '{}')
    finally:
        os.umask(previous)
    assert [(tmp_path / name).stat().st_mode & 0o777 for name in ('w.safetensors', 'x.json', 'private.json')] == [
        0o644, 0o644, 0o600]
    assert load_model(tmp_path / 'w.safetensors').panda_config == network.panda_config


def test_output_paths_that_cannot_be_written_are_one_line_before_any_work(tmp_path, pair, capsys):
    (tmp_path / 'folder').mkdir()
    (tmp_path / 'file').write_text('keep')
    before = snapshot(tmp_path)
    compare = ['compare', *pair, '--reference']
    for arguments, fragment in (
            ([*compare, '--json', tmp_path / 'folder'], "--json file '.*folder' is a folder; accepted: a file path"),
            ([*compare, '--viz', tmp_path / 'folder'], "--viz picture '.*folder' is a folder"),
            ([*compare, '--csv', tmp_path / 'file' / 'x.csv'], "cannot write --csv file '.*x.csv': '.*file' is a file"),
            ([*compare, '--report', tmp_path / 'file/sub/r.html'], "cannot write --report file .* is a file, not a folder"),
            ([*compare, '--spatial', tmp_path / 'folder'], "--spatial picture '.*folder' is a folder"),
            (['compare', pair[0].parent, pair[0].parent, '--viz', tmp_path / 'file'],
             "--viz folder '.*file' is a file; accepted: a folder"),
            (['duel', *pair, '--reference', pair[1], '--json', tmp_path / 'folder'], "--json file '.*folder' is a folder"),
            (['score', '-t', pair[0], '-r', pair[1], '--csv', tmp_path / 'folder'], "--csv file '.*folder' is a folder"),
            (['regions', pair[0], '--segmenter', 'grid', '--out', tmp_path / 'file/l.png'], 'is a file, not a folder'),
            (['bench', '--data', tmp_path, '--json', tmp_path / 'folder'], "--json file '.*folder' is a folder"),
            (['export-weights', 'x.pth', '--opt', 'x.yml', '--out', tmp_path / 'file/w.safetensors'], 'is a file'),
    ):
        error = cli_error(arguments, capsys)
        assert __import__('re').search(fragment, error), error
    assert snapshot(tmp_path) == before


def test_missing_folders_are_created_and_wrote_means_written(tmp_path, pair, capsys):
    out = tmp_path / 'new' / 'deeper'
    assert main(['regions', str(pair[0]), '--segmenter', 'grid', '--out', str(out / 'l.png'),
                 '--viz', str(out / 'v.png')]) == 0
    assert main(['compare', *map(str, pair), '--reference', '--json', str(out / 'g.json'),
                 '--csv', str(out / 'c' / 's.csv'), '--spatial', str(out / 'm.png')]) == 0
    printed = [line.split()[1] for line in capsys.readouterr().out.splitlines() if line.startswith('wrote ')]
    assert len(printed) == 5 and all(Path(p).is_file() and Path(p).stat().st_size > 0 for p in printed)
    assert cv2.imread(str(out / 'l.png'), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_csv_cells_a_spreadsheet_would_run_are_escaped(tmp_path):
    rows = [{'name': '=HYPERLINK("http://x","y")', 'score': '-0.5', 'relation': '+cmd', 'regions': '@SUM(1)'},
            {'name': 'plain', 'score': '0.9', 'relation': '-', 'regions': 3}]
    path = write_csv(rows, tmp_path / 's.csv', columns=('name', 'score', 'relation', 'regions'))
    read = list(csv.DictReader(path.open(encoding='utf-8')))
    assert [row['name'] for row in read] == ['\'=HYPERLINK("http://x","y")', 'plain']
    assert [row['score'] for row in read] == ['-0.5', '0.9']  # numbers stay numbers
    assert [row['relation'] for row in read] == ["'+cmd", "'-"] and read[0]['regions'] == "'@SUM(1)"


# Disks: a read-only and a full file system (tmpfs mounts in a private mount namespace) ----------

def _in_private_mount(script: str, tmp_path: Path, **variables) -> subprocess.CompletedProcess:
    if shutil.which('unshare') is None or subprocess.run(['unshare', '-rm', 'true']).returncode != 0:
        pytest.skip('needs unshare -rm (private mount namespaces)')
    return subprocess.run(['unshare', '-rm', 'sh', '-c', script], cwd=tmp_path, env={**ENVIRONMENT, **variables},
                          capture_output=True, text=True, timeout=300)


def test_read_only_and_full_disks_are_one_line_naming_the_path(tmp_path, pair):
    disk = tmp_path / 'disk'
    disk.mkdir()
    compare = ['compare', *map(str, pair), '--reference']
    program = (f"import subprocess\nfrom panda_plugin.adapters.cli import main\n"
               f"print('rc', main({compare + ['--report', f'{disk}/r.html']!r}))\n"
               f"subprocess.run(['mount', '-o', 'remount,ro', {str(disk)!r}], check=True)\n"
               f"print('rc', main({compare + ['--json', f'{disk}/g.json']!r}))\n")
    script = (f'mount -t tmpfs -o size=48k tmpfs {disk} && echo previous > {disk}/g.json && '
              f'{sys.executable} -c "$PROGRAM"; cat {disk}/g.json; ls -a {disk}')
    result = _in_private_mount(script, tmp_path, PROGRAM=program)
    lines = [line for line in result.stderr.splitlines() if line.startswith('panda ')]  # not the progress bar
    assert 'Traceback' not in result.stderr and len(lines) == 2, result
    assert lines[0] == f"panda compare: error: cannot write HTML report '{disk}/r.html': no space left on the device"
    assert lines[1] == f"panda compare: error: cannot write --json file '{disk}/g.json': the file system is read-only"
    out = result.stdout.splitlines()
    assert out.count('rc 2') == 2 and 'previous' in out
    assert [line for line in out if line.startswith('.') and line not in ('.', '..')] == []  # no temporary left
