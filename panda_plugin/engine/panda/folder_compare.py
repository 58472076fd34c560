"""Distortion graphs of many image pairs with one network, in batches (``panda compare
DIR DIR``)."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.graph import DistortionGraph
from panda_plugin.engine.image_io import load_image
from panda_plugin.engine.panda.predictor import predict_graphs, resolve_model
from panda_plugin.engine.regions import build_segmenter


@dataclass
class PairResult:
    """The graph of one restored image against its reference.

    Attributes:
        name: Shared file name stem.
        restored: Path of the restored image (the anchor).
        reference: Path of the reference (the target).
        graph: Their distortion graph.
    """

    name: str
    restored: Path
    reference: Path
    graph: DistortionGraph


def compare_pairs(pairs, *, segmenter=None, model=None, device=None, reference: bool = True,
                  batch_size: int = 8, progress: bool = True) -> list[PairResult]:
    """The graph of every pair, as ``compare`` gives it, loading the network once.

    Images are read and segmented in a background thread while the previous batch is scored;
    pairs of one size are scored together.

    Args:
        pairs: ``folders.ImageSet`` items (restored, reference paths).
        segmenter: Region proposer spec run on the references. Default: ``'superpixel'``.
        model: Weights name or path, or a ``PANDA`` network. Default: ``'panda-tiny'``.
        device: Torch device. Default: CPU.
        reference: Reference mode (default) or the pairwise mode.
        batch_size: Pairs per network call. Default: 8.
        progress: Show a progress bar on stderr.

    Returns:
        One ``PairResult`` per pair, in order.
    """
    if batch_size < 1:
        raise PandaInputError(f'batch size {batch_size}; accepted: an integer >= 1')
    spec = 'superpixel' if segmenter is None else segmenter
    propose = build_segmenter(spec)
    network = resolve_model(model, device)
    where = next(network.parameters()).device
    metadata = {'regions': os.fspath(spec) if isinstance(spec, (str, os.PathLike)) else type(spec).__name__}
    pairs = list(pairs)
    chunks = [pairs[start:start + batch_size] for start in range(0, len(pairs), batch_size)]

    def prepare(chunk):
        return [_prepared(item, propose) for item in chunk]

    results = []
    bar = tqdm(total=len(pairs), unit='pair', desc='compare', disable=not progress)
    with ThreadPoolExecutor(1) as reader:
        pending = reader.submit(prepare, chunks[0]) if chunks else None
        for index in range(len(chunks)):
            loaded = pending.result()
            pending = reader.submit(prepare, chunks[index + 1]) if index + 1 < len(chunks) else None
            for group in _by_size(loaded):
                anchors = torch.stack([_tensor(item[1]) for item in group]).to(where)
                targets = torch.stack([_tensor(item[2]) for item in group]).to(where)
                labels = torch.from_numpy(np.stack([item[3] for item in group])).to(where)
                graphs = predict_graphs(network, anchors, targets, labels, reference=reference, metadata=metadata)
                results += [(item[0], PairResult(item[0].name, *item[0].paths[:2], graph))
                            for item, graph in zip(group, graphs)]
            bar.update(len(loaded))
    bar.close()
    order = {id(item): position for position, item in enumerate(pairs)}
    return [result for _, result in sorted(results, key=lambda entry: order[id(entry[0])])]


def _prepared(item, propose):
    restored = load_image(item.paths[0], name=f'restored {item.name!r}')
    target = load_image(item.paths[1], name=f'reference {item.name!r}')
    if restored.shape != target.shape:
        raise PandaInputError(f'{item.name!r}: restored {item.paths[0]} is {restored.shape[1]}x{restored.shape[0]} '
                              f'but reference {item.paths[1]} is {target.shape[1]}x{target.shape[0]}; '
                              'paired images must have the same size')
    return item, restored, target, np.asarray(propose(target), np.int64)


def _by_size(loaded: list) -> list[list]:
    groups: dict = {}
    for item in loaded:
        groups.setdefault(item[1].shape, []).append(item)
    return list(groups.values())


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1).float() / 255
