"""JSON files given by users (masks, clicks, graphs) read with limits: size, nesting depth, UTF-8.

Python's parser recurses once per nesting level, so a file of a few thousand ``[`` ends in a
``RecursionError``; the depth is measured first, on the text with its strings removed.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from panda_plugin.core.errors import PandaInputError

#: Deepest nesting of arrays and objects accepted (the package's files need 6).
MAX_DEPTH = 64
#: Largest JSON file read, in bytes.
MAX_BYTES = 64 << 20
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
#: +1 for an opening bracket, -1 for a closing one, 0 for every other byte.
_STEPS = np.zeros(256, np.int32)
_STEPS[[ord('['), ord('{')]], _STEPS[[ord(']'), ord('}')]] = 1, -1


def parse_json(text: str | bytes, where: str):
    """Parse JSON text whose nesting is at most ``MAX_DEPTH`` levels.

    Args:
        text: The JSON text or its UTF-8 bytes.
        where: What the text is, for messages (e.g. ``"mask file 'm.json'"``).

    Returns:
        The parsed value.

    Raises:
        PandaInputError: The text is not UTF-8 JSON, or is nested deeper than ``MAX_DEPTH``.
    """
    data = text.encode('utf-8', 'surrogatepass') if isinstance(text, str) else bytes(text)
    depth = int(np.cumsum(_STEPS[np.frombuffer(_STRINGS.sub(b'""', data), np.uint8)]).max(initial=0))
    if depth > MAX_DEPTH:
        raise PandaInputError(f'{where} is nested {depth} levels deep; accepted: JSON nested at most '
                              f'{MAX_DEPTH} levels')
    try:
        return json.loads(data.decode('utf-8'))
    except UnicodeDecodeError as error:
        raise PandaInputError(f'{where}: byte {error.start} is not UTF-8; accepted: UTF-8 JSON') from None
    except json.JSONDecodeError as error:
        raise PandaInputError(f'{where} is not valid JSON: {error}') from None


def read_json(path: str | os.PathLike, what: str):
    """Read a JSON file with ``parse_json``'s limits and at most ``MAX_BYTES`` bytes.

    Args:
        path: The file.
        what: What the file is, for messages (e.g. ``'mask file'``).

    Returns:
        The parsed value.
    """
    path = Path(path)
    where = f'{what} {str(path)!r}'
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise PandaInputError(f'{where} is a folder; accepted: a JSON file')
        if size > MAX_BYTES:
            raise PandaInputError(f'{where} is {size} bytes; accepted: at most {MAX_BYTES} bytes')
        data = path.read_bytes()
    except FileNotFoundError:
        raise PandaInputError(f'{where} does not exist') from None
    except OSError as error:
        raise PandaInputError(f'{where}: cannot read it ({error.strerror})') from None
    return parse_json(data, where)
