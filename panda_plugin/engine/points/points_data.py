"""``panda make-points-data``: scenes with exact panoptic ground truth and one click per
instance, in LMDB.

Scene ``i`` of a split is drawn from the seed ``(seed, split, i)`` alone and its kind is
``scenes.KINDS[i % 3]``, so a database does not depend on workers or shards. Work is split into
units of ``UNIT`` scenes; ``shard=(k, n)`` keeps every n-th unit starting at k. The ``train``
split cuts textures and patches from the bundled training photographs, the held-out ``test``
split from the bundled bench photographs (and uses another seed stream).

A database is built in ``<out>.partial`` (resumed unit by unit after an interruption) and
renamed to ``<out>`` when complete. Each record ``<key>`` is three entries: ``<key>.image``
(PNG), ``<key>.panoptic`` (16-bit PNG of instance id + 1) and ``<key>.points`` (JSON: clicks,
stuff flags, scene kind).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import lmdb
import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.version import __version__
from panda_plugin.engine.data.bundled import bundled_images
from panda_plugin.engine.data.integrity import WriterLock, check_data_file, prefixed, record_checksum
from panda_plugin.engine.data.lmdb_store import decode_png, dumps, encode_png
from panda_plugin.engine.data.lmdb_writes import open_for_writing, put_all
from panda_plugin.engine.data.workers import ordered_map
from panda_plugin.engine.points.scenes import KINDS, make_scene

SPLITS = {'train': 0, 'test': 1}
FIELDS = ('image', 'panoptic', 'points')
#: Scenes per unit of work.
UNIT = 50
_CONFIG, _COMPLETE, _DONE = b'__config__', b'__complete__', '__done__/'


@dataclass(frozen=True)
class PointsSettings:
    """Everything that decides the records of a points database.

    Args:
        split: ``'train'`` or ``'test'`` (held out).
        count: Scenes in the whole split (over all shards).
        size: Side of the square scenes, in pixels.
        seed: Run seed.
        shard: ``(index, count)`` of this shard.
    """

    split: str = 'train'
    count: int = 1000
    size: int = 128
    seed: int = 0
    shard: tuple = (0, 1)


def scene(settings: PointsSettings, index: int, photos: list) -> dict:
    """Scene ``index`` of a split (see ``scenes.make_scene``)."""
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, SPLITS[settings.split], index]))
    return make_scene(rng, settings.size, KINDS[index % len(KINDS)], photos)


def split_photos(split: str) -> list:
    """Photographs textures are cut from: bundled train photos, or bench photos for ``test``."""
    subset = 'train' if split == 'train' else 'bench'
    return [image for name, image in bundled_images(subset) if not name.startswith('procedural')]


def make_points_data(out, settings: PointsSettings, workers: int = 1, progress: bool = True) -> int:
    """Build (or finish building) a points database.

    Args:
        out: Output database folder.
        settings: Build settings.
        workers: Parallel processes. Default: 1.
        progress: Show a progress bar. Default: True.

    Returns:
        Number of records in the database.
    """
    if settings.split not in SPLITS:
        raise PandaInputError(f'unknown split {settings.split!r}; accepted: {", ".join(SPLITS)}')
    if not 32 <= settings.size <= 2048 or settings.count < 1 or workers < 1:
        raise PandaInputError(f'size {settings.size}, count {settings.count}, workers {workers}; '
                              'accepted: size 32..2048, count >= 1, workers >= 1')
    index, shards = settings.shard
    if not (shards >= 1 and 0 <= index < shards):
        raise PandaInputError(f'shard {index}/{shards} is invalid; accepted: I/N with 0 <= I < N')
    out = Path(out)
    config = {**asdict(settings), 'shard': list(settings.shard), 'version': __version__, 'format': 1}
    if out.exists():
        if read_points_config(out) == config:
            return len(points_keys(out))
        raise PandaInputError(f'output {str(out)!r} already exists with other settings; choose '
                              'another --out or remove it')
    units = [u for u in range(-(-settings.count // UNIT)) if u % shards == index]
    lock = WriterLock(out).acquire()
    try:
        return _build(out, config, settings, units, workers, progress)
    finally:
        lock.release()


def _build(out: Path, config: dict, settings: PointsSettings, units: list, workers: int,
           progress: bool) -> int:
    from tqdm import tqdm

    partial = out.with_name(out.name + '.partial')
    if partial.exists():
        env = open_for_writing(partial)
        with env.begin() as txn:
            stored = txn.get(_CONFIG)
        if stored is None or json.loads(bytes(stored)) != config:
            env.close()
            shutil.rmtree(partial)
    env = open_for_writing(partial)
    try:
        put_all(env, [(_CONFIG, dumps(config))], partial)
        with env.begin() as txn:
            done = {key[len(_DONE):].decode() for key, _ in prefixed(txn, _DONE.encode())}
        todo = [u for u in units if str(u) not in done]
        _State.photos = split_photos(settings.split)
        bar = tqdm(total=len(units), initial=len(units) - len(todo), disable=not progress, unit='unit',
                   desc=f'{settings.split} scenes')
        # 'spawn': a forked child of a process that already runs threads (torch, TensorBoard)
        # can deadlock on a lock held at fork time.
        tasks = [(unit, settings) for unit in todo]
        with contextlib.closing(ordered_map(_unit_records, tasks, workers, 'spawn', _load_photos,
                                            (settings.split,))) as runs:
            for unit, records in runs:
                items = [(f'{key}.{field}'.encode(), value) for key, entries in records
                         for field, value in entries.items()]
                put_all(env, [*items, (f'{_DONE}{unit}'.encode(), dumps([key for key, _ in records]))], partial)
                bar.update(1)
        bar.close()
        with env.begin() as txn:
            keys = sorted(k for _, v in prefixed(txn, _DONE.encode()) for k in json.loads(bytes(v)))
            checks = {key: record_checksum(txn, key, FIELDS) for key in keys[:1] + keys[-1:]}
        put_all(env, [(_COMPLETE, dumps({'records': len(keys), 'checks': checks}))], partial)
        env.sync()
    finally:
        env.close()
    (partial / 'meta_info.txt').write_text(''.join(f'{key}\n' for key in keys), encoding='utf-8')
    partial.rename(out)
    return len(keys)


class _State:
    photos: list = []


def _unit_records(task: tuple) -> tuple:
    unit, settings = task
    records = []
    for index in range(unit * UNIT, min((unit + 1) * UNIT, settings.count)):
        drawn = scene(settings, index, _State.photos)
        meta = {'points': drawn['points'].tolist(), 'stuff': drawn['stuff'].tolist(), 'kind': drawn['kind']}
        records.append((f'{index:07d}', {'image': encode_png(drawn['image']),
                                         'panoptic': encode_png((drawn['panoptic'] + 1).astype(np.uint16)),
                                         'points': dumps(meta)}))
    return str(unit), records


def _load_photos(split: str) -> None:
    _State.photos = split_photos(split)


_ENVS: dict = {}


def _open(path: Path) -> lmdb.Environment:
    """One read-only environment per database and process (LMDB allows only one)."""
    if not path.is_dir():
        raise PandaInputError(f'points database {str(path)!r} does not exist; build it with '
                              '`panda make-points-data`')
    key = str(path.resolve())
    if key not in _ENVS:
        check_data_file(path)
        _ENVS[key] = lmdb.open(str(path), readonly=True, lock=False, readahead=False, subdir=True)
    return _ENVS[key]


def _forget_envs() -> None:
    while _ENVS:
        _ENVS.popitem()[1].close()


os.register_at_fork(before=_forget_envs)


def read_points_config(path) -> dict:
    """Build config of a complete points database.

    Args:
        path: Database folder.

    Returns:
        The config dict.
    """
    with _open(Path(path)).begin() as txn:
        config, mark = txn.get(_CONFIG), txn.get(_COMPLETE)
        config, mark = (None if v is None else json.loads(bytes(v)) for v in (config, mark))
    if not isinstance(config, dict) or 'count' not in config or not isinstance(mark, dict):
        raise PandaInputError(f'{str(path)!r} is not a complete points database; rebuild it with '
                              '`panda make-points-data`')
    return config


def points_keys(path) -> list:
    """Record keys of a points database, in order."""
    return (Path(path) / 'meta_info.txt').read_text(encoding='utf-8').split()


class PointsReader:
    """Random access to the scenes of one or more points databases.

    Args:
        paths: A database folder or a list of them (e.g. the shards of one build).
    """

    def __init__(self, paths):
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        self.paths = [Path(p) for p in paths]
        self.index = []
        for number, path in enumerate(self.paths):
            read_points_config(path)
            self.index += [(number, key) for key in points_keys(path)]

    def __len__(self) -> int:
        return len(self.index)

    def read(self, position: int) -> dict:
        """Decode one scene.

        Args:
            position: Index over all databases, in order.

        Returns:
            Dict with ``key``, ``image`` (HxWx3 uint8), ``panoptic`` (int32 ids ``0..N-1``),
            ``points`` (Nx2 int64 (x, y)), ``stuff`` (N bool) and ``kind``.
        """
        number, key = self.index[position]
        with _open(self.paths[number]).begin() as txn:
            raw = {field: txn.get(f'{key}.{field}'.encode()) for field in FIELDS}
        if any(value is None for value in raw.values()):
            raise PandaInputError(f'points database {str(self.paths[number])!r} lacks record {key}')
        meta = json.loads(bytes(raw['points']))
        return {'key': key, 'image': decode_png(bytes(raw['image'])),
                'panoptic': decode_png(bytes(raw['panoptic'])).astype(np.int32) - 1,
                'points': np.array(meta['points'], np.int64).reshape(-1, 2),
                'stuff': np.array(meta['stuff'], bool), 'kind': meta['kind']}
