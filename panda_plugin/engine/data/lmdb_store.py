"""PANDASET records in LMDB, written the BasicSR way and safe against interruption.

A database is built in ``<path>.partial`` and renamed to ``<path>`` only once every record
is in, so a folder named like the requested output is always complete. Each record is four
entries: ``<key>.anchor`` and ``<key>.target`` (PNG), ``<key>.regions`` (16-bit PNG of the
label map plus one) and ``<key>.labels`` (JSON). ``meta_info.txt`` lists the records as
BasicSR's LMDB tools do.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import lmdb
import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.region_labels import RegionLabels

CONFIG_KEY = b'__config__'
COMPLETE_KEY = b'__complete__'
DONE_PREFIX = '__done__/'
_MAP_SIZE = 1 << 40


def encode_png(array: np.ndarray) -> bytes:
    """Lossless PNG bytes of an RGB uint8 image or a uint16 single-channel map.

    Args:
        array: HxWx3 uint8 RGB or HxW uint16 array.

    Returns:
        PNG file bytes (deterministic for equal input).
    """
    if array.ndim == 3:
        array = np.ascontiguousarray(array[:, :, ::-1])
    ok, encoded = cv2.imencode('.png', array, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise PandaInputError(f'cannot encode an array of shape {array.shape} as PNG')
    return encoded.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    """Inverse of ``encode_png``.

    Args:
        data: PNG file bytes.

    Returns:
        HxWx3 uint8 RGB or HxW uint16 array.
    """
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise PandaInputError('corrupt PNG entry in the database')
    return np.ascontiguousarray(array[:, :, ::-1]) if array.ndim == 3 else array


def dumps(value) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces), so equal records give equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(',', ':')).encode('utf-8')


class RecordWriter:
    """Writes records into ``<path>.partial`` and publishes the database when complete.

    Args:
        path: Final database folder (conventionally ``*.lmdb``).
        config: JSON-able description of how the records are made. A partial database made
            with another config is rebuilt; a complete one is never touched.
    """

    def __init__(self, path, config: dict):
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + '.partial')
        self.config = config
        if self.path.exists():
            raise PandaInputError(f'output {str(self.path)!r} already exists; choose another path '
                                  'or remove it')
        if self.partial.exists() and read_config(self.partial, complete=False) != config:
            _release(self.partial)
            shutil.rmtree(self.partial)
        self.partial.mkdir(parents=True, exist_ok=True)
        _release(self.partial)
        self.env = lmdb.open(str(self.partial), map_size=_MAP_SIZE, subdir=True, lock=True)
        with self.env.begin(write=True) as txn:
            txn.put(CONFIG_KEY, dumps(config))

    def done_units(self) -> set[str]:
        """Names of the units of work (source images) already written."""
        return {unit for unit, _ in self._done_entries()}

    def write_unit(self, unit: str, records: list[dict]) -> None:
        """Write all records of one unit of work atomically.

        Args:
            unit: Name of the unit (marks it done for resuming).
            records: Dicts with ``key``, ``anchor``, ``target``, ``regions`` (PNG bytes) and
                ``labels`` (JSON-able dict).
        """
        with self.env.begin(write=True) as txn:
            for record in records:
                key = record['key']
                for field in ('anchor', 'target', 'regions'):
                    txn.put(f'{key}.{field}'.encode(), record[field])
                txn.put(f'{key}.labels'.encode(), dumps(record['labels']))
            txn.put(f'{DONE_PREFIX}{unit}'.encode(), dumps([r['key'] for r in records]))

    def finish(self) -> int:
        """Mark the database complete, write ``meta_info.txt`` and publish it.

        Returns:
            Number of records.
        """
        keys = self._all_keys()
        keys.sort()
        with self.env.begin(write=True) as txn:
            txn.put(COMPLETE_KEY, dumps({'records': len(keys)}))
        self.env.sync()
        self.close()
        size = self.config.get('size', 0)
        lines = [f'{key} ({size},{size},3) 1' for key in keys]
        (self.partial / 'meta_info.txt').write_text('\n'.join(lines) + '\n', encoding='utf-8')
        self.partial.rename(self.path)
        return len(keys)

    def _all_keys(self) -> list[str]:
        return [key for _, keys in self._done_entries() for key in keys]

    def _done_entries(self) -> list[tuple[str, list[str]]]:
        prefix = DONE_PREFIX.encode()
        entries = []
        with self.env.begin() as txn:
            cursor = txn.cursor()
            if cursor.set_range(prefix):
                for key, value in cursor:
                    if not key.startswith(prefix):
                        break
                    entries.append((key[len(prefix):].decode(), json.loads(value)))
        return entries

    def close(self) -> None:
        """Close the partial database without publishing it (it can be resumed)."""
        if self.env is not None:
            self.env.close()
            self.env = None


_READERS: dict = {}


def _reading_env(path: Path) -> lmdb.Environment:
    """One read-only environment per database and process (LMDB allows only one)."""
    key = str(path.resolve())
    if key in _READERS and not path.exists():
        _READERS.pop(key).close()
    if key not in _READERS:
        _READERS[key] = lmdb.open(str(path), readonly=True, lock=False, readahead=False, subdir=True)
    return _READERS[key]


def _close_readers() -> None:
    while _READERS:
        _READERS.popitem()[1].close()


# A forked child (e.g. a dataloader worker) must open its own environments.
os.register_at_fork(before=_close_readers)


def _release(path: Path) -> None:
    env = _READERS.pop(str(path.resolve()), None)
    if env is not None:
        env.close()


def read_config(path, complete: bool = True) -> dict | None:
    """The config stored in a database.

    Args:
        path: Database folder.
        complete: Require the database to be complete. Default: True.

    Returns:
        The config dict, or None when the folder holds no config.
    """
    with _reading_env(Path(path)).begin() as txn:
        config = txn.get(CONFIG_KEY)
        if complete and txn.get(COMPLETE_KEY) is None:
            raise PandaInputError(f'database {str(path)!r} is incomplete (an interrupted build); '
                                  're-run the same make-dataset command to finish it')
    return json.loads(config) if config is not None else None


class RecordReader:
    """Random access to the records of one or more complete databases.

    Args:
        paths: One database folder or a list of them (e.g. one per shard).
    """

    def __init__(self, paths):
        if isinstance(paths, (str, Path)):
            paths = [paths]
        self.paths = [Path(p) for p in paths]
        self.index: list[tuple[int, str]] = []
        for number, path in enumerate(self.paths):
            if not (path / 'data.mdb').is_file():
                raise PandaInputError(f'{str(path)!r} is not an LMDB database (no data.mdb)')
            read_config(path)
            meta = path / 'meta_info.txt'
            keys = [line.split(' ')[0] for line in meta.read_text(encoding='utf-8').splitlines() if line]
            self.index += [(number, key) for key in keys]

    def __len__(self) -> int:
        return len(self.index)

    def config(self, number: int = 0) -> dict:
        """Build config of the ``number``-th database."""
        return read_config(self.paths[number])

    def raw(self, position: int) -> dict:
        """The stored bytes of one record.

        Args:
            position: Index over all databases, in order.

        Returns:
            Dict of ``anchor``, ``target``, ``regions`` and ``labels`` bytes.
        """
        number, key = self.index[position]
        with _reading_env(self.paths[number]).begin() as txn:
            return {field: bytes(txn.get(f'{key}.{field}'.encode()))
                    for field in ('anchor', 'target', 'regions', 'labels')}

    def read(self, position: int) -> dict:
        """Decode one record.

        Args:
            position: Index over all databases, in order.

        Returns:
            Dict with ``key``, ``anchor`` and ``target`` (HxWx3 uint8 RGB), ``label_map``
            (int32 HxW), ``labels`` (the stored JSON) and ``region_labels`` (``RegionLabels``).
        """
        raw = self.raw(position)
        key = self.index[position][1]
        labels = json.loads(raw['labels'])
        return {
            'key': key,
            'anchor': decode_png(raw['anchor']),
            'target': decode_png(raw['target']),
            'label_map': decode_png(raw['regions']).astype(np.int32) - 1,
            'labels': labels,
            'region_labels': RegionLabels.from_stored(labels),
        }
