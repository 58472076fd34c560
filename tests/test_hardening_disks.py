"""Databases on real disks: the LMDB map grows with the data (no 1 TiB reservation), a full or
read-only disk is one line naming the database, the partial database resumes, and Ctrl-C on a
multi-process build exits at once with one line."""
from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import skimage.data

from panda_plugin.engine.data import lmdb_writes

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = {**os.environ, 'PYTHONPATH': str(ROOT)}
PANDA = [sys.executable, '-m', 'panda_plugin.adapters.cli']


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp('images')
    for name in ('astronaut', 'coffee', 'chelsea'):
        cv2.imwrite(str(folder / f'{name}.png'), getattr(skimage.data, name)()[:, :, ::-1])
    return folder


def build(images, out, *extra) -> list[str]:
    return [*PANDA, 'make-dataset', '--images', str(images), '--out', str(out), '--size', '64', *extra]


def test_the_map_grows_with_the_data(tmp_path, monkeypatch):
    monkeypatch.setattr(lmdb_writes, 'FIRST_MAP', 1 << 20)
    env = lmdb_writes.open_for_writing(tmp_path / 'db')
    assert env.info()['map_size'] == 1 << 20
    blob = os.urandom(1 << 20)
    for index in range(6):
        lmdb_writes.put_all(env, [(f'k{index}'.encode(), blob)], tmp_path / 'db')
    assert env.info()['map_size'] >= 8 << 20
    with env.begin() as txn:
        assert all(txn.get(f'k{index}'.encode()) == blob for index in range(6))
    env.close()
    reopened = lmdb_writes.open_for_writing(tmp_path / 'db')  # twice the data already written
    assert reopened.info()['map_size'] >= 2 * (tmp_path / 'db' / 'data.mdb').stat().st_size
    reopened.close()


def test_a_build_fits_an_address_space_limit_far_below_a_terabyte(tmp_path, images):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (24 << 30, 24 << 30))

    result = subprocess.run(build(images, tmp_path / 'db.lmdb', '--pairs-per-image', '2'), env=ENVIRONMENT,
                            preexec_fn=limit, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'wrote 6 train pairs' in result.stdout


def test_ctrl_c_on_two_workers_is_one_line_and_the_rerun_resumes(tmp_path, images):
    out = tmp_path / 'db.lmdb'
    command = build(images, out, '--pairs-per-image', '1000', '--workers', '2')
    process = subprocess.Popen(command, env=ENVIRONMENT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    seen = ''
    while '%|' not in seen and process.poll() is None:  # the progress bar is drawn: the build is under way
        seen += process.stderr.read(1)
    start = time.monotonic()
    # what Ctrl-C in a terminal does: the whole group; pressed again while the workers start
    while process.poll() is None and time.monotonic() - start < 30:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
    _, err = process.communicate(timeout=60)
    # 130, or the signal's own status when a later press lands while the interpreter exits (a shell shows 130)
    assert time.monotonic() - start < 30 and process.returncode in (130, -signal.SIGINT)
    lines = [line for line in (seen + err).splitlines() if not line.startswith(('train pairs', '\r'))]
    assert 'Traceback' not in err and 'KeyboardInterrupt' not in err
    assert [line for line in lines if line.strip() and 'pairs:' not in line] == ['panda make-dataset: interrupted'], \
        repr(seen + err)
    assert not out.exists() and out.with_name('db.lmdb.partial').is_dir()
    result = subprocess.run(command, env=ENVIRONMENT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and 'wrote 3000 train pairs from 3 images' in result.stdout, result.stderr[-2000:]


def test_full_and_read_only_disks_are_one_line_and_the_build_resumes(tmp_path, images):
    if shutil.which('unshare') is None or subprocess.run(['unshare', '-rm', 'true']).returncode != 0:
        pytest.skip('needs unshare -rm (private mount namespaces)')
    disk = tmp_path / 'disk'
    disk.mkdir()
    first = ' '.join(build(images, disk / 'db.lmdb', '--pairs-per-image', '6'))
    second = ' '.join(build(images, disk / 'other.lmdb', '--pairs-per-image', '6'))
    script = (f'mount -t tmpfs -o size=200k tmpfs {disk} && {first}; echo "rc=$?"; '
              f'mount -o remount,size=16m {disk} && {first}; echo "rc=$?"; '
              f'mount -o remount,ro {disk} && {second}; echo "rc=$?"; ls {disk}')
    result = subprocess.run(['unshare', '-rm', 'sh', '-c', script], env=ENVIRONMENT, capture_output=True,
                            text=True, timeout=600)
    errors = [line for line in result.stderr.splitlines() if line.startswith('panda ')]
    assert 'Traceback' not in result.stderr and errors == [
        f"panda make-dataset: error: cannot write database '{disk}/db.lmdb.partial': no space left on the device; "
        'the partial database is kept: rerun the same command to resume once this is fixed',
        f"panda make-dataset: error: cannot write output '{disk}/other.lmdb': the file system is read-only"], result
    out = result.stdout.splitlines()
    assert [line for line in out if line.startswith('rc=')] == ['rc=2', 'rc=0', 'rc=2']
    assert any(line.startswith('wrote 18 train pairs from 3 images') and 'resumed' in line for line in out)
    assert out[-1:] == ['db.lmdb']  # no partial or lock file of either run is left
