"""Guards of the PANDASET databases: one writer per output, and checks made before reading.

* **One writer per output.** A writer holds ``<out>.lock`` (an exclusive ``flock`` on a file
  holding its PID, host and command line) from its start until the database is published or
  the run stops. A second writer of the same output fails at once, naming the first. A lock
  left by a process that no longer runs on this host is taken over; one naming another host
  is taken over only after its owner is gone there (remove the file by hand).
* **Truncation before mapping.** LMDB maps ``data.mdb`` into memory, and a page beyond the end
  of a truncated file kills the process with SIGBUS. ``check_data_file`` reads LMDB's own
  header (the two meta pages: page size and last page used) and compares the size it implies
  with the file's size before the file is ever opened by LMDB.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import struct
import sys
import time
import zlib
from pathlib import Path

from panda_plugin.core.atomic import check_output, output_error
from panda_plugin.core.errors import PandaInputError

#: Suffix of the lock file next to a database being written.
LOCK_SUFFIX = '.lock'
#: LMDB's meta page: magic and data version at byte 16 of the page, page size at 40, last
#: page number and transaction id at 136 (64-bit builds).
_LMDB_MAGIC, _LMDB_VERSION = 0xBEEFC0DE, 1
_META_BYTES = 152


def rebuild_command(path, config: dict | None = None) -> str:
    """The ``panda make-dataset`` command that writes a database again.

    Args:
        path: The database folder.
        config: Its stored build config, when readable.

    Returns:
        The command line (``IMAGES`` stands for the source folder when it is not known).
    """
    options = ''
    if isinstance(config, dict):
        flags = (('split', '--split'), ('pairs_per_image', '--pairs-per-image'), ('size', '--size'),
                 ('seed', '--seed'), ('segmenter', '--segmenter'), ('scorer', '--scorer'))
        options = ''.join(f' {flag} {config[key]}' for key, flag in flags if key in config)
        shard = config.get('shard')
        if isinstance(shard, list) and len(shard) == 2 and shard[1] != 1:
            options += f' --shard {shard[0]}/{shard[1]}'
    return f'panda make-dataset --images IMAGES{options} --out {path}'


def damaged(path, problem: str, config: dict | None = None) -> PandaInputError:
    """The error for a database that cannot be read, naming the command that rebuilds it.

    Args:
        path: The database folder.
        problem: What is wrong, as the rest of a sentence (``'is truncated ...'``).
        config: Its stored build config, when readable.

    Returns:
        The ``PandaInputError`` to raise.
    """
    return PandaInputError(f'database {str(path)!r} {problem}; remove it and rebuild it with '
                           f'`{rebuild_command(path, config)}`')


def check_data_file(path: Path) -> None:
    """Refuse a folder that is not an LMDB database or whose ``data.mdb`` is truncated.

    Only the first two pages are read (plain reads, no memory map).

    Args:
        path: The database folder.
    """
    data_file = path / 'data.mdb'
    if not path.is_dir() or not data_file.is_file():
        raise damaged(path, 'is not an LMDB database (no data.mdb)')
    size = data_file.stat().st_size
    try:
        with open(data_file, 'rb') as handle:
            first = handle.read(_META_BYTES)
            page = struct.unpack_from('<I', first, 40)[0] if len(first) == _META_BYTES else 0
            metas = [first]
            if 512 <= page <= 65536 and page & (page - 1) == 0:
                handle.seek(page)
                metas.append(handle.read(_META_BYTES))
    except OSError as error:
        raise damaged(path, f'cannot be read ({error.strerror})') from None
    heads = [struct.unpack_from('<II', meta, 16) + struct.unpack_from('<QQ', meta, 136)
             for meta in metas if len(meta) == _META_BYTES]
    if len(heads) < 2 or any(head[:2] != (_LMDB_MAGIC, _LMDB_VERSION) for head in heads):
        raise damaged(path, f'has no LMDB header in data.mdb ({size} bytes): it is corrupt or '
                            'not an LMDB file')
    last_page = max(heads, key=lambda head: head[3])[2]
    needed = (last_page + 1) * page
    if size < needed:
        raise damaged(path, f'is truncated: data.mdb has {size} bytes, its header needs {needed}')


def record_checksum(txn, key: str, fields) -> str:
    """CRC-32 of a record's entries ``<key>.<field>``, as hex (a missing entry counts as empty).

    Args:
        txn: An LMDB transaction.
        key: The record key.
        fields: Its entry names, in order.

    Returns:
        Eight hex digits.
    """
    crc = 0
    for field in fields:
        crc = zlib.crc32(bytes(txn.get(f'{key}.{field}'.encode()) or b''), crc)
    return f'{crc:08x}'


def prefixed(txn, prefix: bytes):
    """``(key, value)`` of every LMDB entry whose key starts with ``prefix``, in key order."""
    cursor = txn.cursor()
    if cursor.set_range(prefix):
        for key, value in cursor:
            if not key.startswith(prefix):
                break
            yield key, value


class WriterLock:
    """Exclusive right to write one output, held through ``<output>.lock``.

    Args:
        target: The output path (a database folder).
    """

    def __init__(self, target):
        self.target = Path(target)
        self.path = self.target.with_name(self.target.name + LOCK_SUFFIX)
        self._fd: int | None = None

    def acquire(self) -> 'WriterLock':
        """Take the lock, or raise a ``PandaInputError`` naming the process that holds it."""
        check_output(self.target, 'output', folder=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise output_error(self.target, 'output', error) from None
        while self._fd is None:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise output_error(self.path, 'lock file', error) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                owner = _read_owner(fd)
                os.close(fd)
                if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise self._busy(owner) from None
                raise PandaInputError(f'cannot lock {str(self.path)!r} ({error.strerror}); '
                                      'accepted: an output on a file system with file locks') from None
            if not _same_file(fd, self.path):  # removed by its last holder meanwhile: retry
                os.close(fd)
                continue
            owner = _read_owner(fd)
            if owner and owner.get('host') not in (None, socket.gethostname()):
                os.close(fd)
                raise self._busy(owner, other_host=True)
            record = {'pid': os.getpid(), 'host': socket.gethostname(), 'since': time.time(),
                      'command': ' '.join(sys.argv)}
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(record).encode(), 0)
            except OSError as error:
                os.close(fd)
                raise output_error(self.path, 'lock file', error) from None
            self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up and remove the lock file (idempotent)."""
        if self._fd is not None:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            os.close(self._fd)
            self._fd = None

    def _busy(self, owner: dict | None, other_host: bool = False) -> PandaInputError:
        if not owner:
            who = 'another process'
        else:
            who = f"process {owner.get('pid')} on {owner.get('host')}"
            if owner.get('command'):
                who += f" ({owner['command']})"
        hint = (f'if it no longer runs there, remove {str(self.path)!r}' if other_host else
                'wait for it to finish or choose another --out')
        return PandaInputError(f'output {str(self.target)!r} is being written by {who} (lock file '
                               f'{str(self.path)!r}); {hint}')


def _read_owner(fd: int) -> dict | None:
    try:
        owner = json.loads(os.pread(fd, 4096, 0) or b'null')
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False
