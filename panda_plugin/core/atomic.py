"""Every file the package writes, written atomically: all of it or none of it.

The content goes to a hidden temporary file in the target's folder, is flushed and fsynced, gets
the mode a plain ``open`` would give (0666 less the umask), and is renamed over the target. A
reader sees the old file or the new one, never a mix; a writer killed mid-write leaves the old
file as it was (and a ``.NAME.PID-*.tmp`` file, removed by the next write to the same target
once process PID is gone).

One rule for output paths: missing parent folders are created. A folder where the file belongs,
a parent that is a file, a read-only or full disk and a permission problem are each one
``PandaInputError`` line naming the path.
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from panda_plugin.core.errors import PandaInputError

_REASONS = {errno.EACCES: 'permission denied', errno.EPERM: 'permission denied',
            errno.EROFS: 'the file system is read-only', errno.ENOSPC: 'no space left on the device',
            errno.EDQUOT: 'the disk quota is exceeded', errno.ENAMETOOLONG: 'the name is too long',
            errno.EISDIR: 'it is a folder', errno.ENOTDIR: 'a parent is a file, not a folder',
            errno.EEXIST: 'a parent is a file, not a folder', errno.EFBIG: 'the file is too large'}


def output_error(path: str | os.PathLike, what: str, error: OSError) -> PandaInputError:
    """The one-line error for an output that could not be written.

    Args:
        path: The output path.
        what: What the output is, e.g. ``'--json file'``.
        error: The operating system's error.

    Returns:
        The error to raise.
    """
    reason = _REASONS.get(error.errno, error.strerror or type(error).__name__)
    return PandaInputError(f'cannot write {what} {str(path)!r}: {reason}')


def prepare_output(path: str | os.PathLike, what: str = 'output file') -> Path:
    """Check an output file path and create its missing parent folders.

    Args:
        path: Where a file will be written.
        what: What the file is, for messages. Default: ``'output file'``.

    Returns:
        The path.
    """
    path = check_output(path, what)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise output_error(path, what, error) from None
    return path


def check_output(path: str | os.PathLike, what: str = 'output file', folder: bool = False) -> Path:
    """Refuse an output path that cannot be written, before any work is done; creates nothing.

    Args:
        path: Where a file (or, with ``folder``, a folder of files) will be written.
        what: What it is, for messages (e.g. ``'--json file'``). Default: ``'output file'``.
        folder: The output is a folder. Default: False.

    Returns:
        The path.
    """
    path = Path(path)
    if not folder and path.is_dir():
        raise PandaInputError(f'{what} {str(path)!r} is a folder; accepted: a file path')
    if folder and path.exists() and not path.is_dir():
        raise PandaInputError(f'{what} {str(path)!r} is a file; accepted: a folder (created when missing)')
    existing = path if folder and path.is_dir() else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise PandaInputError(f'cannot write {what} {str(path)!r}: {str(existing)!r} is a file, not a folder')
    if os.statvfs(existing).f_flag & os.ST_RDONLY:
        raise PandaInputError(f'cannot write {what} {str(path)!r}: the file system is read-only')
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PandaInputError(f'cannot write {what} {str(path)!r}: permission denied in {str(existing)!r}')
    return path


def prepare_folder(path: str | os.PathLike, what: str = 'output folder') -> Path:
    """Create an output folder (and its parents) or refuse it with one line.

    Args:
        path: The folder.
        what: What it is, for messages. Default: ``'output folder'``.

    Returns:
        The path.
    """
    path = check_output(path, what, folder=True)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise output_error(path, what, error) from None
    return path


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _remove_stale(path: Path) -> None:
    """Remove temporary files of ``path`` left by writers that no longer run."""
    prefix = f'.{path.name}.'
    for name in os.listdir(path.parent):
        pid = name[len(prefix):].split('-', 1)[0]
        if not name.startswith(prefix) or '.tmp' not in name or not pid.isdigit():
            continue
        stale = path.parent / name
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                stale.unlink()
        except OSError:  # another user's process: still running
            continue


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system can sync a folder
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, what: str = 'output file') -> Iterator[Path]:
    """A temporary path for a writer that takes a file name (savefig, safetensors, numpy, PIL);
    when the block ends without an error the file is fsynced and renamed to ``path``.

    Args:
        path: The final path.
        what: What the file is, for messages. Default: ``'output file'``.

    Yields:
        The temporary path (in the same folder, with the same suffix).
    """
    path = prepare_output(path, what)
    _remove_stale(path)
    temporary = path.with_name(f'.{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{path.suffix}')
    try:
        yield temporary
        if not temporary.is_file():
            raise PandaInputError(f'cannot write {what} {str(path)!r}: the writer made no file')
        descriptor = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        raise output_error(path, what, error) from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    _sync_folder(path.parent)


def write_atomic(path: str | os.PathLike, data: bytes | str, what: str = 'output file') -> Path:
    """Write bytes or UTF-8 text to ``path`` atomically (see the module docstring).

    Args:
        path: The file.
        data: The content.
        what: What the file is, for messages. Default: ``'output file'``.

    Returns:
        The path.
    """
    content = data.encode('utf-8') if isinstance(data, str) else data
    with atomic_path(path, what) as temporary:
        try:
            with open(temporary, 'wb') as handle:
                handle.write(content)
                handle.flush()
        except OSError as error:
            raise output_error(path, what, error) from None
    return Path(path)
