"""Tensor files read without running code: ``.safetensors``, or torch checkpoints unpickled with
``weights_only=True`` (tensors, numbers, strings, lists and dicts only).

A checkpoint that holds any other Python object, such as a pickle payload that would call
``os.system``, is refused with one line naming the file and the object; nothing in it runs.
"""
from __future__ import annotations

import collections
import os
import re
import warnings
from pathlib import Path

import torch

from panda_plugin.core.errors import PandaInputError

#: What a tensors file may be, for messages.
ACCEPTED = 'a .safetensors file or a torch checkpoint of tensors (torch.save of a state dict)'


def _opened(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if path.is_dir():
        raise PandaInputError(f'{what} {str(path)!r} is a folder; accepted: {ACCEPTED}')
    if not path.is_file():
        raise PandaInputError(f'{what} {str(path)!r} does not exist; accepted: {ACCEPTED}')
    return path


def _refusal(path: Path, what: str, error: Exception) -> PandaInputError:
    text = str(error)
    found = re.search(r'Unsupported global: GLOBAL ([\w.]+)|unsupported (?:GLOBAL|class) ([\w.\'"]+)', text)
    if found:
        return PandaInputError(f'{what} {str(path)!r} holds pickled code or objects ({found.group(1) or found.group(2)}), '
                               f'refused: nothing in it ran; accepted: {ACCEPTED}')
    operand = re.search(r'Unsupported operand (\d+)', text)
    if operand:
        detail = f'not a tensors-only checkpoint: pickle operand {operand.group(1)} refused, nothing in it ran'
    else:
        first = text.strip().splitlines()[0] if text.strip() else ''
        detail = first if len(first) > 12 else f'{type(error).__name__} {first}'.strip()
    return PandaInputError(f'cannot read {what} {str(path)!r} ({detail}); accepted: {ACCEPTED}')


def load_tensors(path: str | os.PathLike, what: str = 'checkpoint', map_location='cpu'):
    """Load a tensors file without running code from it.

    Args:
        path: A ``.safetensors`` file or a torch checkpoint.
        what: What the file is, for messages (e.g. ``'encoder checkpoint'``). Default: ``'checkpoint'``.
        map_location: Where torch checkpoints' tensors go. Default: ``'cpu'``.

    Returns:
        The loaded object (a state dict for ``.safetensors``).

    Raises:
        PandaInputError: The file is missing, corrupt, or holds anything but plain data.
    """
    path = _opened(path, what)
    try:
        if path.suffix == '.safetensors':
            from safetensors.torch import load_file

            return load_file(str(path))
        with torch.serialization.safe_globals([collections.Counter]), warnings.catch_warnings():
            warnings.simplefilter('ignore')  # the unpickler's note on pickle protocols
            return torch.load(path, map_location=map_location, weights_only=True)
    except MemoryError:
        raise PandaInputError(f'{what} {str(path)!r} does not fit in memory') from None
    except Exception as error:  # torch, zip and safetensors each raise their own error types
        raise _refusal(path, what, error) from None


def check_tensors_file(path: str | os.PathLike, what: str = 'checkpoint') -> None:
    """Refuse a file ``load_tensors`` would refuse, without reading its tensors (memory-mapped).

    Args:
        path: A ``.safetensors`` file or a torch checkpoint.
        what: What the file is, for messages. Default: ``'checkpoint'``.
    """
    path = _opened(path, what)
    if path.suffix == '.safetensors':
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework='pt'):
                return
        except Exception as error:  # safetensors raises its own error types for corrupt files
            raise _refusal(path, what, error) from None
    try:
        with torch.serialization.safe_globals([collections.Counter]), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.load(path, map_location='cpu', weights_only=True, mmap=True)
    except RuntimeError as error:
        if 'mmap' in str(error):  # the legacy (non-zip) format cannot be mapped: read it
            load_tensors(path, what)
            return
        raise _refusal(path, what, error) from None
    except Exception as error:  # torch and zip raise their own error types
        raise _refusal(path, what, error) from None


def safetensors_out(out: str | os.PathLike) -> Path:
    """An output path for weights, refused unless it ends with ``.safetensors``.

    Args:
        out: Destination path.

    Returns:
        The path.
    """
    out = Path(out)
    if out.suffix != '.safetensors':
        raise PandaInputError(f'output {str(out)!r} must end with .safetensors')
    return out
