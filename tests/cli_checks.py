"""Assertions shared by the bad-input tests: one-line errors, and files left as they were."""
from __future__ import annotations

from panda_plugin.adapters.cli import main


def cli_error(arguments, capsys) -> str:
    """Run the command line in this process; it must fail with status 2 and one line on stderr.

    Returns:
        The error line.
    """
    assert main([str(a) for a in arguments]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.split('\n') if line.startswith('panda ')]  # not the progress bar
    assert len(errors) == 1 and 'Traceback' not in err and err.endswith(errors[0] + '\n'), err
    return errors[0]


def snapshot(folder) -> dict:
    """Every file under ``folder`` and its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}
