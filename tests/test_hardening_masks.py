"""Crafted mask files (COCO RLE JSON, label-map PNG, panoptic PNG) and JSON files give a label
map or one ``PandaInputError`` line: never a crash, a hang or a memory blow-up.

Every fuzzed file is read in a child process forked for it (with a 2 GiB address-space limit),
so a segmentation fault or an abort is a test failure, not the end of the test run."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.json_files import MAX_DEPTH, parse_json
from panda_plugin.core.masks import _compress_counts, rle_decode, rle_encode
from panda_plugin.engine.regions import load_masks

ROOT = Path(__file__).resolve().parents[1]
#: Reads one mask file per line of stdin in a forked child; prints the child's wait status.
RUNNER = """
import os, resource, sys
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.regions import load_masks
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        try:
            labels = load_masks(line.strip())
            code = 0 if labels.ndim == 2 and str(labels.dtype) == 'int32' and labels.max() >= 0 else 3
        except PandaInputError as error:
            code = 0 if '\\n' not in str(error) else 4
        except BaseException as error:
            print(repr(error)[:300], file=sys.stderr, flush=True)
            code = 5
        os._exit(code)
    print(os.waitpid(pid, 0)[1], flush=True)
"""


@pytest.fixture(scope='module')
def runner():
    process = subprocess.Popen([sys.executable, '-c', RUNNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, env={**os.environ, 'PYTHONPATH': str(ROOT)})

    def status(path: Path) -> int:
        process.stdin.write(f'{path}\n')
        process.stdin.flush()
        return int(process.stdout.readline())

    yield status
    process.stdin.close()
    process.wait(timeout=60)


def png_with_header(width: int, height: int, depth: int = 8, colour: int = 0, body: bytes = b'') -> bytes:
    """A PNG whose IHDR declares any size (valid CRCs), with ``body`` as its image data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    header = struct.pack('>IIBBBBB', width, height, depth, colour, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(body)) + chunk(b'IEND', b'')


# Explicit bounds ------------------------------------------------------------------------------

@pytest.mark.parametrize('counts, fragment', [
    ([2 ** 63 - 1, 2 ** 63 - 1, 2], r'RLE count 9223372036854775807 is outside 0..h\*w = 4'),  # int64 wrap-around
    ([2 ** 64, 0], 'outside'),
    ([-1, 5], 'RLE count -1 is outside'),
    (_compress_counts([2 ** 62, 4]), 'holds a number beyond h\\*w = 4'),
    ('0' * 20, 'RLE counts string of 20 characters for 4 pixels; accepted: at most 18'),
    ([1] * 20, 'RLE counts hold 20 entries'),
    ([True, 3], 'a string or a list of integers'),
    ([[1], 3], 'a string or a list of integers'),
    ([1, 1], r'RLE counts sum to 2, expected h\*w = 4'),
])
def test_rle_counts_are_bounded_before_any_allocation(counts, fragment):
    with pytest.raises(PandaInputError, match=fragment):
        rle_decode({'size': [2, 2], 'counts': counts})


def test_rle_overflow_file_is_one_line_on_the_command_line(tmp_path, runner):
    wrapping = [2 ** 63 - 1, 2 ** 63 - 1, 6]  # sums to 4 = h*w in int64: SIGSEGV in np.repeat before
    for counts in (wrapping, _compress_counts(wrapping)):
        (tmp_path / 'm.json').write_text(json.dumps([{'size': [2, 2], 'counts': counts}]))
        assert runner(tmp_path / 'm.json') == 0
    (tmp_path / 'deep.json').write_text('[' * 100_000 + ']' * 100_000)
    with pytest.raises(PandaInputError, match=f"mask file '.*deep.json' is nested 100000 levels deep; accepted: "
                                              f'JSON nested at most {MAX_DEPTH} levels'):
        load_masks(tmp_path / 'deep.json')
    (tmp_path / 'big.png').write_bytes(png_with_header(100_000, 100_000))
    with pytest.raises(PandaInputError, match='declares more than'):
        load_masks(tmp_path / 'big.png')


def test_json_depth_is_measured_outside_strings():
    assert parse_json('{"a": ["[[[[", "\\"{"]}', 'x') == {'a': ['[[[[', '"{']}
    assert parse_json('[' * MAX_DEPTH + ']' * MAX_DEPTH, 'x') is not None
    with pytest.raises(PandaInputError, match=f'x is nested {MAX_DEPTH + 1} levels deep'):
        parse_json('[' * (MAX_DEPTH + 1) + ']' * (MAX_DEPTH + 1), 'x')


# Fuzz -----------------------------------------------------------------------------------------

big_ints = st.one_of(st.integers(-3, 70), st.sampled_from([2 ** 31, 2 ** 62, 2 ** 63 - 1, 2 ** 63, 2 ** 64, -2 ** 63]))


@st.composite
def rle_files(draw) -> bytes:
    height, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    mask = draw(st.lists(st.booleans(), min_size=height * width, max_size=height * width))
    valid = rle_encode(np.array(mask).reshape(height, width))
    size = draw(st.one_of(st.just([height, width]), st.lists(big_ints, max_size=3),
                          st.sampled_from([None, 'x', [True, 2], [2.5, 2], {}])))
    counts = draw(st.one_of(st.just(valid['counts']), st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                                              max_size=30),
                            st.lists(big_ints, max_size=12), st.sampled_from([None, 7, [[1]], {'a': 1}])))
    rle = {'size': size, 'counts': counts}
    wrapped = draw(st.sampled_from([[rle], [{'segmentation': rle}], {'annotations': [rle]}, rle, [rle, rle], []]))
    return json.dumps(wrapped).encode()


@st.composite
def png_files(draw) -> bytes:
    kind = draw(st.sampled_from(['label8', 'label16', 'panoptic', 'header']))
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    if kind == 'header':
        return png_with_header(draw(st.integers(0, 2 ** 31 - 1)), draw(st.integers(0, 2 ** 31 - 1)),
                               draw(st.sampled_from([1, 8, 16])), draw(st.sampled_from([0, 2, 3, 6])),
                               draw(st.binary(max_size=64)))
    dtype, channels = {'label8': (np.uint8, 1), 'label16': (np.uint16, 1), 'panoptic': (np.uint8, 3)}[kind]
    values = draw(st.integers(0, 2 ** 32 - 1))
    image = np.random.default_rng(values).integers(0, np.iinfo(dtype).max, (height, width, channels), endpoint=True)
    data = bytearray(cv2.imencode('.png', image.astype(dtype))[1].tobytes())
    for _ in range(draw(st.integers(0, 3))):  # corrupt a few bytes, or cut the file short
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    return bytes(data[:draw(st.integers(1, len(data)))] if draw(st.booleans()) else data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(rle_files(), png_files()))
def test_fuzzed_mask_files_never_crash(tmp_path, runner, content):
    path = tmp_path / ('m.json' if content[:1] in (b'[', b'{') else 'm.png')
    path.write_bytes(content)
    status = runner(path)
    assert status == 0, f'{path.name}: wait status {status} for {content[:200]!r}'
