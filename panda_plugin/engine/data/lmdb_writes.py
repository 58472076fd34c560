"""Writing LMDB databases: a map that grows with the data, and disk problems as one line.

LMDB reserves address space for the whole map when a database is opened; a fixed 1 TiB map
fails under any ``ulimit -v`` below that. The map starts at ``FIRST_MAP`` (or twice the data
already written) and doubles whenever a transaction needs more. A full disk, a read-only file
system or too small an address-space limit is a ``PandaInputError`` naming the database; the
partial database stays, and rerunning the same command resumes it.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

import lmdb

from panda_plugin.core.atomic import output_error
from panda_plugin.core.errors import PandaInputError

#: First map size of a database being written.
FIRST_MAP = 64 << 20
#: Largest map size (the format's practical limit here).
LAST_MAP = 1 << 40


def disk_error(path: Path, error: Exception) -> PandaInputError:
    """The one-line error for an LMDB or file-system failure while writing ``path``.

    Args:
        path: The partial database folder.
        error: The LMDB or OS error.

    Returns:
        The error to raise.
    """
    text = str(error)
    code = getattr(error, 'errno', None)
    if code == errno.ENOMEM or 'Cannot allocate memory' in text:
        reason = 'not enough address space for its map (raise ulimit -v)'
    elif code == errno.ENOSPC or 'No space left' in text or ('Input/output error' in text and _full(path)):
        reason = 'no space left on the device'  # LMDB reports a failed write of a full disk as EIO
    elif code == errno.EROFS or 'Read-only file system' in text:
        reason = 'the file system is read-only'
    elif code in (errno.EACCES, errno.EPERM) or 'Permission denied' in text:
        reason = 'permission denied'
    elif isinstance(error, OSError) and not isinstance(error, lmdb.Error):
        return output_error(path, 'database', error)
    else:
        reason = text.splitlines()[0] if text else type(error).__name__
    return PandaInputError(f'cannot write database {str(path)!r}: {reason}; the partial database is kept: '
                           'rerun the same command to resume once this is fixed')


def _full(path: Path) -> bool:
    try:
        status = os.statvfs(path)
    except OSError:
        return False
    return status.f_bavail * status.f_frsize < FIRST_MAP // 4


def open_for_writing(path: Path) -> lmdb.Environment:
    """Open (or create) a database folder for writing, with a map sized to its data.

    Args:
        path: The database folder.

    Returns:
        The environment.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        data = path / 'data.mdb'
        size = max(FIRST_MAP, 2 * data.stat().st_size if data.exists() else 0)
        return lmdb.open(str(path), map_size=size, subdir=True, lock=True)
    except (lmdb.Error, OSError) as error:
        raise disk_error(path, error) from None


def put_all(env: lmdb.Environment, items, path: Path) -> None:
    """Put ``(key, value)`` byte pairs in one transaction, doubling the map until they fit.

    Args:
        env: An environment from ``open_for_writing``.
        items: The pairs (a list: it may be written more than once).
        path: The database folder, for messages.
    """
    while True:
        try:
            with env.begin(write=True) as txn:
                for key, value in items:
                    txn.put(key, value)
            return
        except lmdb.MapFullError:
            size = env.info()['map_size'] * 2
            if size > LAST_MAP:
                raise PandaInputError(f'cannot write database {str(path)!r}: it would exceed '
                                      f'{LAST_MAP >> 40} TiB') from None
            try:
                env.set_mapsize(size)
            except lmdb.Error as error:
                raise disk_error(path, error) from None
        except lmdb.Error as error:
            raise disk_error(path, error) from None
