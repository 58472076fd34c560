"""PANDASET records in LMDB, written the BasicSR way and safe against interruption.

A database is built in ``<path>.partial`` and renamed to ``<path>`` only once every record
is in, so a folder named like the requested output is always complete. Each record is four
entries: ``<key>.anchor`` and ``<key>.target`` (PNG), ``<key>.regions`` (16-bit PNG of the
label map plus one) and ``<key>.labels`` (JSON). ``meta_info.txt`` lists the records as
BasicSR's LMDB tools do.

One process at a time writes an output (``integrity.WriterLock``, the file ``<path>.lock``).
Databases are checked when opened (``check_database``): LMDB header against the file size
(before the file is mapped), build config, format version, record count against
``meta_info.txt`` and the entry count, and the first and last records decoded and compared with
the checksums stored when the database was finished. Every read error is a ``PandaInputError``
naming the database and the ``panda make-dataset`` command that rebuilds it.
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
from panda_plugin.engine.data.integrity import (
    WriterLock,
    check_data_file,
    damaged,
    prefixed,
    rebuild_command,
    record_checksum,
)
from panda_plugin.engine.data.lmdb_writes import disk_error, open_for_writing, put_all

CONFIG_KEY = b'__config__'
COMPLETE_KEY = b'__complete__'
DONE_PREFIX = '__done__/'
#: Layout of the records; a database of a later format is refused.
FORMAT = 1
FIELDS = ('anchor', 'target', 'regions', 'labels')


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
        self.env = None
        self.lock = WriterLock(self.path).acquire()
        try:
            self._open()
        except BaseException:
            self.lock.release()
            raise

    def _open(self) -> None:
        if self.path.exists():
            raise PandaInputError(f'output {str(self.path)!r} already exists; choose another path '
                                  'or remove it')
        if self.partial.exists() and read_config(self.partial, complete=False) != self.config:
            _release(self.partial)
            shutil.rmtree(self.partial)
        _release(self.partial)
        self.env = open_for_writing(self.partial)
        put_all(self.env, [(CONFIG_KEY, dumps(self.config))], self.partial)

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
        items = [(f'{record["key"]}.{field}'.encode(), record[field]) for record in records
                 for field in ('anchor', 'target', 'regions')]
        items += [(f'{record["key"]}.labels'.encode(), dumps(record['labels'])) for record in records]
        put_all(self.env, [*items, (f'{DONE_PREFIX}{unit}'.encode(), dumps([r['key'] for r in records]))],
                self.partial)

    def finish(self) -> int:
        """Mark the database complete, write ``meta_info.txt`` and publish it.

        Returns:
            Number of records.
        """
        keys = self._all_keys()
        keys.sort()
        with self.env.begin() as txn:
            checks = {key: record_checksum(txn, key, FIELDS) for key in keys[:1] + keys[-1:]}
        put_all(self.env, [(COMPLETE_KEY, dumps({'records': len(keys), 'format': FORMAT, 'checks': checks}))],
                self.partial)
        try:
            self.env.sync()
            self.env.close()
            self.env = None
            size = self.config.get('size', 0)
            lines = [f'{key} ({size},{size},3) 1' for key in keys]
            (self.partial / 'meta_info.txt').write_text('\n'.join(lines) + '\n', encoding='utf-8')
            self.partial.rename(self.path)
        except (lmdb.Error, OSError) as error:
            raise disk_error(self.partial, error) from None
        self.lock.release()
        return len(keys)

    def _all_keys(self) -> list[str]:
        return [key for _, keys in self._done_entries() for key in keys]

    def _done_entries(self) -> list[tuple[str, list[str]]]:
        with self.env.begin() as txn:
            return [(key[len(DONE_PREFIX):].decode(), json.loads(value))
                    for key, value in prefixed(txn, DONE_PREFIX.encode())]

    def close(self) -> None:
        """Close the partial database without publishing it (it can be resumed)."""
        if self.env is not None:
            self.env.close()
            self.env = None
        self.lock.release()


_READERS: dict = {}


def _reading_env(path: Path) -> lmdb.Environment:
    """One read-only environment per database and process (LMDB allows only one).

    ``data.mdb`` is checked against LMDB's header before it is mapped, and again whenever its
    size or time stamp changed since.
    """
    key = str(path.resolve())
    try:
        stamp = (path / 'data.mdb').stat()
        stamp = (stamp.st_size, stamp.st_mtime_ns, stamp.st_ino)
    except OSError:
        stamp = None
    if key in _READERS and _READERS[key][1] != stamp:
        _READERS.pop(key)[0].close()
    if key not in _READERS:
        check_data_file(path)
        try:
            env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, subdir=True)
        except lmdb.Error as error:
            raise damaged(path, f'cannot be opened by LMDB ({error})') from None
        _READERS[key] = (env, stamp)
    return _READERS[key][0]


def _close_readers() -> None:
    while _READERS:
        _READERS.popitem()[1][0].close()


# A forked child (e.g. a dataloader worker) must open its own environments.
os.register_at_fork(before=_close_readers)


def _release(path: Path) -> None:
    entry = _READERS.pop(str(path.resolve()), None)
    if entry is not None:
        entry[0].close()


def _stored_json(path, data: bytes | None, what: str, config=None):
    if data is None:
        return None
    try:
        return json.loads(bytes(data))
    except (UnicodeDecodeError, ValueError):
        raise damaged(path, f'holds a corrupt {what} entry', config) from None


def read_config(path, complete: bool = True) -> dict | None:
    """The config stored in a database.

    Args:
        path: Database folder.
        complete: Require the database to be complete. Default: True.

    Returns:
        The config dict, or None when the folder holds no config.
    """
    try:
        with _reading_env(Path(path)).begin() as txn:
            config = _stored_json(path, txn.get(CONFIG_KEY), 'config')
            finished = txn.get(COMPLETE_KEY)
    except lmdb.Error as error:
        raise damaged(path, f'cannot be read ({error})') from None
    if config is not None and not isinstance(config, dict):
        raise damaged(path, 'holds a config that is not a JSON object')
    if complete and config is None:
        raise damaged(path, 'holds no PANDASET build config: it was not written by make-dataset')
    if complete and finished is None:
        raise PandaInputError(f'database {str(path)!r} is incomplete (an interrupted build); '
                              're-run the same make-dataset command to finish it')
    return config


def check_database(path) -> tuple[dict, list[str]]:
    """Check a complete database before any record is read, and list its record keys.

    Checks: LMDB header against the file size, build config, format version, the record count
    of the completion mark against ``meta_info.txt`` and LMDB's entry count, and the first and
    last records (checksums written at finish, and a full decode).

    Args:
        path: Database folder.

    Returns:
        (build config, record keys in order).
    """
    path = Path(path)
    config = read_config(path)
    meta = path / 'meta_info.txt'
    try:
        keys = [line.split(' ')[0] for line in meta.read_text(encoding='utf-8').splitlines() if line]
    except (OSError, UnicodeDecodeError):
        raise damaged(path, 'has no readable meta_info.txt', config) from None
    try:
        with _reading_env(path).begin() as txn:
            mark = _stored_json(path, txn.get(COMPLETE_KEY), 'completion', config)
            if not isinstance(mark, dict) or not isinstance(mark.get('records'), int):
                raise damaged(path, 'holds a corrupt completion mark', config)
            if mark.get('format', 1) > FORMAT:
                raise PandaInputError(
                    f'database {str(path)!r} has record format {mark["format"]}; accepted: format '
                    f'{FORMAT} or older (update panda-plugin, or rebuild it with '
                    f'`{rebuild_command(path, config)}`)')
            done = sum(1 for _ in prefixed(txn, DONE_PREFIX.encode()))
            entries = txn.stat()['entries']
            checks = mark.get('checks') or {}
            for key in keys[:1] + keys[-1:]:
                if key in checks and record_checksum(txn, key, FIELDS) != checks[key]:
                    raise damaged(path, f'fails the checksum of record {key}', config)
    except lmdb.Error as error:
        raise damaged(path, f'cannot be read ({error})', config) from None
    if len(keys) != mark['records'] or len(set(keys)) != len(keys):
        raise damaged(path, f'lists {len(keys)} records in meta_info.txt but holds '
                            f'{mark["records"]}', config)
    expected = len(FIELDS) * len(keys) + done + 2
    if entries != expected:
        raise damaged(path, f'holds {entries} LMDB entries; {len(keys)} records need {expected}', config)
    for key in keys[:1] + keys[-1:]:
        record = _decoded(path, key, _raw(path, key, config), config)
        size = config.get('size')
        if size and record['anchor'].shape[:2] != (size, size):
            raise damaged(path, f'holds record {record["key"]} of {record["anchor"].shape[0]}x'
                                f'{record["anchor"].shape[1]} pixels; its config says {size}', config)
    return config, keys


class RecordReader:
    """Random access to the records of one or more complete databases.

    Every database is checked when the reader is made (``check_database``); several
    databases (e.g. the shards of one build) must have images of one size.

    Args:
        paths: One database folder or a list of them (e.g. one per shard).
    """

    def __init__(self, paths):
        if isinstance(paths, (str, Path)):
            paths = [paths]
        self.paths = [Path(p) for p in paths]
        self.index: list[tuple[int, str]] = []
        self.configs, sizes = [], {}
        for number, path in enumerate(self.paths):
            config, keys = check_database(path)
            self.configs.append(config)
            sizes[str(path)] = config.get('size')
            self.index += [(number, key) for key in keys]
        if len(set(sizes.values())) > 1:
            listed = ', '.join(f'{path} {size}' for path, size in sizes.items())
            raise PandaInputError(f'databases of different --size read together ({listed}); '
                                  'accepted: databases of one size (rebuild them with one --size)')

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
        return _raw(self.paths[number], key, self.configs[number])

    def read(self, position: int) -> dict:
        """Decode one record.

        Args:
            position: Index over all databases, in order.

        Returns:
            Dict with ``key``, ``anchor`` and ``target`` (HxWx3 uint8 RGB), ``label_map``
            (int32 HxW), ``labels`` (the stored JSON) and ``region_labels`` (``RegionLabels``).
        """
        number, key = self.index[position]
        return _decoded(self.paths[number], key, self.raw(position), self.configs[number])


def _raw(path: Path, key: str, config: dict) -> dict:
    try:
        with _reading_env(path).begin() as txn:
            raw = {field: txn.get(f'{key}.{field}'.encode()) for field in FIELDS}
            raw = {field: None if value is None else bytes(value) for field, value in raw.items()}
    except lmdb.Error as error:
        raise damaged(path, f'cannot be read at record {key} ({error})', config) from None
    missing = [field for field, value in raw.items() if value is None]
    if missing:
        raise damaged(path, f'has no {", ".join(missing)} entry for record {key}', config)
    return raw


def _decoded(path: Path, key: str, raw: dict, config: dict) -> dict:
    try:
        labels = json.loads(raw['labels'])
        record = {'key': key, 'anchor': decode_png(raw['anchor']), 'target': decode_png(raw['target']),
                  'label_map': decode_png(raw['regions']).astype(np.int32) - 1, 'labels': labels,
                  'region_labels': RegionLabels.from_stored(labels)}
    except (PandaInputError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise damaged(path, f'holds a corrupt record {key} ({error})', config) from None
    shapes = {record[name].shape[:2] for name in ('anchor', 'target', 'label_map')}
    if len(shapes) != 1 or record['anchor'].ndim != 3:
        raise damaged(path, f'holds record {key} with images and regions of different sizes '
                            f'{sorted(shapes)}', config)
    return record
