"""``panda make-dataset``: PANDASET-style training pairs and PANDABENCH splits from a folder.

Work is split by source image: each image is resized, segmented once, its versions are made
and scored, and its pairs become records. Images are processed in parallel (``workers``)
and written in a fixed order, so the database does not depend on the number of workers.
``shard=(i, n)`` keeps every n-th image starting at i, for building on several machines.
"""
from __future__ import annotations

import contextlib
import logging
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.taxonomy import relation_ids_from_scores
from panda_plugin.core.version import __version__
from panda_plugin.engine.data.lmdb_store import RecordWriter, encode_png, read_config
from panda_plugin.engine.data.workers import ordered_map
from panda_plugin.engine.image_io import list_images, load_image, square_crop
from panda_plugin.engine.panda.data.pairs import SPLITS, sample_pairs
from panda_plugin.engine.panda.data.versions import make_version
from panda_plugin.engine.panda.scoring import build_scorer
from panda_plugin.engine.regions import build_segmenter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildSettings:
    """Everything that decides the records of a database.

    Args:
        split: One of ``SPLITS``.
        pairs_per_image: Pairs made from each source image.
        size: Side of the square images, in pixels.
        seed: Run seed.
        segmenter: Region proposer spec (see ``regions.build_segmenter``).
        scorer: Region scorer spec (see ``scoring.build_scorer``).
        shard: ``(index, count)`` of this shard.
    """

    split: str = 'train'
    pairs_per_image: int = 16
    size: int = 256
    seed: int = 0
    segmenter: str = 'superpixel'
    scorer: str = 'ssim_psnr'
    shard: tuple[int, int] = (0, 1)


@dataclass
class BuildReport:
    """What a build did.

    Args:
        path: The database folder.
        records: Number of records in it.
        images: Source images used.
        skipped: ``(file, reason)`` of unreadable images.
        resumed: Images taken from an interrupted earlier run.
        already_complete: The database existed, complete, with the same settings.
    """

    path: Path
    records: int
    images: int
    skipped: list
    resumed: int = 0
    already_complete: bool = False


def image_records(path: Path, source: str, index: int, settings: BuildSettings, segmenter,
                  scorer) -> list[dict]:
    """All records of one source image.

    Args:
        path: Image file.
        source: Stable name of the image (its path relative to the folder).
        index: Position of the image in the folder listing (used in record keys).
        settings: Build settings.
        segmenter: Region proposer.
        scorer: Region scorer.

    Returns:
        Records ready for ``RecordWriter.write_unit``.
    """
    clean = square_crop(load_image(path, convert=True), settings.size)
    label_map = segmenter(clean)
    regions_png = encode_png((label_map + 1).astype(np.uint16))
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, zlib.crc32(source.encode())]))
    versions: dict = {}

    def version(name):
        if name not in versions:
            versions[name] = make_version(name, clean, label_map, scorer, settings.seed, source)
        return versions[name]

    records = []
    for number, (kind, anchor_name, target_name) in enumerate(
            sample_pairs(settings.split, settings.pairs_per_image, rng)):
        anchor, target = version(anchor_name), version(target_name)
        relation = relation_ids_from_scores(anchor.score, target.score)
        records.append({
            'key': f'{index:06d}_{number:03d}',
            'anchor': encode_png(anchor.image),
            'target': encode_png(target.image),
            'regions': regions_png,
            'labels': {
                'source': source,
                'kind': kind,
                'anchor': anchor.labels(),
                'target': target.labels(),
                'relation': relation.tolist(),
            },
        })
    return records


_worker_state: dict = {}


def _init_worker(settings: BuildSettings) -> None:
    cv2.setNumThreads(1)
    _worker_state['settings'] = settings
    _worker_state['segmenter'] = build_segmenter(settings.segmenter)
    _worker_state['scorer'] = build_scorer(settings.scorer)


def _init_forked_worker(settings: BuildSettings) -> None:
    # A forked child cannot use the parent's torch (OpenMP) thread pool: its first parallel
    # region would wait forever. One thread per worker process, as torch's own data loaders do.
    torch.set_num_threads(1)
    _init_worker(settings)


def _process(task: tuple[int, str, str]) -> tuple[str, list, str | None]:
    index, path, source = task
    try:
        records = image_records(Path(path), source, index, _worker_state['settings'],
                                _worker_state['segmenter'], _worker_state['scorer'])
    except PandaInputError as error:
        return source, [], str(error)
    return source, records, None


def make_dataset(images, out, settings: BuildSettings, workers: int = 1,
                 progress: bool = True) -> BuildReport:
    """Build (or finish building) a PANDASET / PANDABENCH database.

    Args:
        images: Folder of images (searched recursively).
        out: Output database folder, e.g. ``bench_easy.lmdb``.
        settings: Build settings.
        workers: Parallel processes. Default: 1.
        progress: Show a progress bar. Default: True.

    Returns:
        A ``BuildReport``.
    """
    _check_settings(settings, workers)
    folder = Path(images)
    files = list_images(folder)
    if not files:
        raise PandaInputError(f'no images (jpg, png, webp, bmp, tiff) found in {str(folder)!r}')
    shard_index, shard_count = settings.shard
    tasks = [(i, str(p), p.relative_to(folder).as_posix())
             for i, p in enumerate(files) if i % shard_count == shard_index]
    config = {**asdict(settings), 'shard': list(settings.shard), 'version': __version__,
              'sources': [source for _, _, source in tasks]}
    out = Path(out)
    if out.exists():
        if (out / 'data.mdb').is_file() and read_config(out) == config:
            return BuildReport(out, len(_keys_of(out)), len(tasks), [], already_complete=True)
        raise PandaInputError(f'output {str(out)!r} already exists with other contents or settings; '
                              'choose another --out or remove it')
    writer = RecordWriter(out, config)
    done = writer.done_units()
    todo = [task for task in tasks if task[2] not in done]
    skipped = []
    bar = tqdm(total=len(tasks) * settings.pairs_per_image, disable=not progress, unit='pair',
               desc=f'{settings.split} pairs')
    bar.update((len(tasks) - len(todo)) * settings.pairs_per_image)
    initializer = _init_worker if workers == 1 else _init_forked_worker
    try:
        with contextlib.closing(ordered_map(_process, todo, workers, 'fork', initializer, (settings,))) as runs:
            for source, records, error in runs:
                if error is not None:
                    logger.warning('skipped %s: %s', source, error)
                    skipped.append((source, error))
                writer.write_unit(source, records)
                bar.update(settings.pairs_per_image)
    except BaseException:
        writer.close()
        raise
    finally:
        bar.close()
    records = writer.finish()
    return BuildReport(out, records, len(tasks) - len(skipped), skipped, resumed=len(tasks) - len(todo))


def _keys_of(path: Path) -> list[str]:
    return [line.split(' ')[0] for line in (path / 'meta_info.txt').read_text().splitlines() if line]


def _check_settings(settings: BuildSettings, workers: int) -> None:
    if settings.split not in SPLITS:
        raise PandaInputError(f'unknown split {settings.split!r}; accepted: {", ".join(SPLITS)}')
    if not 32 <= settings.size <= 4096:
        raise PandaInputError(f'size {settings.size} is out of range; accepted: 32..4096 pixels')
    if settings.pairs_per_image < 1:
        raise PandaInputError(f'pairs per image must be at least 1, got {settings.pairs_per_image}')
    if workers < 1:
        raise PandaInputError(f'workers must be at least 1, got {workers}')
    index, count = settings.shard
    if not (count >= 1 and 0 <= index < count):
        raise PandaInputError(f'shard {index}/{count} is invalid; accepted: I/N with 0 <= I < N')
