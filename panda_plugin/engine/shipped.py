"""The files shipped in ``panda_plugin/weights``: found by name, read without pickle, cached.

Every product reads its shipped weights here (PANDA's network, the click networks, the DP
patch priors); a weights file of the user's is read with the same ``read_weights``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.torch import load_file

from panda_plugin.core.errors import PandaInputError

#: Folder of the files shipped inside the package.
SHIPPED = Path(__file__).parents[1] / 'weights'
#: Endings of the shipped files: network weights, and the arrays of the DP patch priors.
SUFFIXES = ('.safetensors', '.npz')
_CACHE: dict = {}


def shipped_names(suffix: str = '.safetensors') -> list[str]:
    """Names of the shipped files with one ending.

    Args:
        suffix: One of ``SUFFIXES``. Default: ``'.safetensors'``.

    Returns:
        Sorted names, without the ending.
    """
    return sorted(path.stem for path in SHIPPED.glob(f'*{suffix}'))


def shipped_path(name: str) -> Path | None:
    """The shipped file of a name.

    Args:
        name: A file name in ``SHIPPED`` without its ending (``'panda-tiny'``, ``'dp_patch_gmm'``).

    Returns:
        Its path, or None when nothing of that name is shipped.
    """
    if '/' in name or os.sep in name:
        return None
    return next((SHIPPED / f'{name}{suffix}' for suffix in SUFFIXES if (SHIPPED / f'{name}{suffix}').is_file()),
                None)


def read_weights(path: str | os.PathLike) -> tuple[dict, dict]:
    """Tensors (or arrays) and metadata of a ``.safetensors`` or ``.npz`` file, read without pickle.

    A shipped file is read once and then cached: its tensors are shared between callers, so copy
    them into a network (``load_state_dict``) and never change them in place.

    Args:
        path: The file.

    Returns:
        ``(tensors, metadata)``: name -> torch tensor (numpy array for ``.npz``), and the file's
        string metadata (empty for ``.npz``).
    """
    path = Path(path)
    shipped = path.parent.resolve() == SHIPPED.resolve()
    if shipped and path.name in _CACHE:
        return _CACHE[path.name]
    try:
        if path.suffix == '.npz':
            with np.load(path) as arrays:
                result = {key: arrays[key] for key in arrays.files}, {}
        else:
            with safe_open(str(path), framework='pt') as handle:
                metadata = handle.metadata() or {}
            result = load_file(str(path)), metadata
    except Exception as error:  # safetensors and numpy raise their own error types for corrupt files
        raise PandaInputError(f'cannot read weights file {str(path)!r}: {error}') from None
    if shipped:
        _CACHE[path.name] = result
    return result


def shipped_weights(name: str) -> tuple[dict, dict]:
    """``read_weights`` of a shipped file (cached).

    Args:
        name: A shipped name (see ``shipped_path``).

    Returns:
        ``(tensors, metadata)``.
    """
    path = shipped_path(name)
    if path is None:
        accepted = ', '.join(shipped_names(SUFFIXES[0]) + shipped_names(SUFFIXES[1])) or 'none installed'
        raise PandaInputError(f'shipped weights {name!r} not found in {str(SHIPPED)!r}; accepted: {accepted}')
    return read_weights(path)
