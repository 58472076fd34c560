"""Checks of option blocks (BasicSR YAML, keyword arguments): unknown keys with a close-match
suggestion, types and ranges, each failing with the value and what is accepted."""
from __future__ import annotations

import difflib
from collections.abc import Iterable

from panda_plugin.core.errors import PandaInputError


def reject_unknown(where: str, given: Iterable[str], accepted: Iterable[str]) -> None:
    """Refuse keys that are not accepted, suggesting the closest accepted one.

    Args:
        where: The option block, e.g. ``'panda_opt'``.
        given: The keys given.
        accepted: The keys accepted.
    """
    accepted = list(accepted)
    for key in sorted(set(given) - set(accepted)):
        close = difflib.get_close_matches(str(key), accepted, n=1)
        hint = f' (did you mean {close[0]!r}?)' if close else ''
        raise PandaInputError(f'unknown {where} option {key!r}{hint}; accepted: {", ".join(accepted)}')


def check_number(where: str, name: str, value, minimum: float | None = None, integer: bool = False) -> None:
    """Refuse a value that is not a number (an integer if asked) at or above ``minimum``.

    Args:
        where: The option block.
        name: The option.
        value: Its value.
        minimum: Smallest accepted value. Default: none.
        integer: Accept integers only. Default: False.
    """
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or (minimum is not None and value < minimum):
        kind = 'an integer' if integer else 'a number'
        bound = f' >= {minimum}' if minimum is not None else ''
        raise PandaInputError(f'{where}.{name} = {value!r}; accepted: {kind}{bound}')


def check_choice(where: str, name: str, value, choices: Iterable) -> None:
    """Refuse a value that is not one of ``choices``.

    Args:
        where: The option block.
        name: The option.
        value: Its value.
        choices: The accepted values.
    """
    choices = list(choices)
    if value not in choices:
        raise PandaInputError(f'{where}.{name} = {value!r}; accepted: {", ".join(map(str, choices))}')
