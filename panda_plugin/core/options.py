"""Checks of option blocks (BasicSR YAML, keyword arguments): unknown keys with a close-match
suggestion, types and ranges, each failing with the value and what is accepted."""
from __future__ import annotations

import difflib
import inspect
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


def check_call_options(target, options: dict, prefix: str, where: str) -> None:
    """Refuse keyword options that ``target`` (an arch or loss class) does not take, or whose
    type differs from its annotation or default: the key path and what is accepted.

    Args:
        target: The class (or function) BasicSR will call with the options.
        options: The option block, with ``type``.
        prefix: The block's key path, e.g. ``'network_g.'``.
        where: The file, for messages.
    """
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return
    given = [key for key in options if key != 'type']
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        try:
            named = [n for n, p in parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            reject_unknown(prefix.rstrip('.'), given, named)
        except PandaInputError as error:
            raise PandaInputError(f'{where}: {error}') from None
    for key in given:
        parameter = parameters.get(key)
        if parameter is None:
            continue
        kinds = _accepted_kinds(parameter)
        value = options[key]
        if kinds and not _fits(value, kinds):
            names = ' or '.join(dict.fromkeys(_KIND_NAMES[k] for k in kinds))
            raise PandaInputError(f'{where}: {prefix}{key} = {value!r}; accepted: {names}')


_KIND_NAMES = {int: 'an integer', float: 'a number', bool: 'true or false', str: 'a string',
               list: 'a list', dict: 'a mapping', type(None): '~ (null)'}
_ANNOTATIONS = {'int': int, 'float': float, 'bool': bool, 'str': str, 'None': type(None), 'list': list,
                'tuple': list, 'dict': dict, 'Sequence': list}


def _accepted_kinds(parameter) -> tuple:
    annotation = parameter.annotation
    if annotation is not inspect.Parameter.empty:
        text = annotation if isinstance(annotation, str) else getattr(annotation, '__name__', str(annotation))
        kinds = []
        for part in str(text).split('|'):
            kind = _ANNOTATIONS.get(part.strip().split('[')[0].removeprefix('typing.'))
            if kind is None:
                return ()
            kinds.append(kind)
        return tuple(kinds)
    default = parameter.default
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, (int, float, str)):
        return (type(default),)
    if isinstance(default, (list, tuple)):
        return (list,)
    return ()


def _fits(value, kinds: tuple) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int) and (int in kinds or float in kinds):
        return True
    return any(isinstance(value, kind) for kind in kinds if kind not in (bool, int))
