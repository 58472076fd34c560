"""Distortion graphs of many image pairs with one network (``panda compare DIR DIR``): on CPU
one pair at a time as ``compare`` makes it, on other devices in batches."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.graph import DistortionGraph
from panda_plugin.engine.panda.predictor import (load_same_size, pair_graph, predict_graphs, prepare_pair,
                                                 region_proposer, resolve_model)
from panda_plugin.engine.tensors import rgb8_to_tensor


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
                  batch_size: int | None = None, progress: bool = True) -> list[PairResult]:
    """The graph of every pair, as ``compare`` gives it, loading the network once.

    Pairs go one at a time as ``compare`` takes them (the regions proposed while the network
    encodes the pair in the background); on CPU that is faster than batches (docs/speed.md).
    Batches of several pairs of one size go through the network together while the next
    batch's images are read and segmented in a background thread.

    Args:
        pairs: ``folders.ImageSet`` items (restored, reference paths).
        segmenter: Region proposer spec run on the references. Default: ``'superpixel'``.
        model: Weights name or path, or a ``PANDA`` network. Default: ``'panda-tiny'``.
        device: Torch device. Default: CPU.
        reference: Reference mode (default) or the pairwise mode.
        batch_size: Pairs per network call. Default: 1 on CPU, 8 on other devices.
        progress: Show a progress bar on stderr.

    Returns:
        One ``PairResult`` per pair, in order.
    """
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, Integral)
                                   or batch_size < 1):
        raise PandaInputError(f'batch size {batch_size!r}; accepted: an integer >= 1')
    propose, regions = region_proposer(segmenter)
    network = resolve_model(model, device)
    where = next(network.parameters()).device
    batch_size = batch_size or (1 if where.type == 'cpu' else 8)
    metadata = {'regions': regions}
    pairs = list(pairs)
    with tqdm(total=len(pairs), unit='pair', desc='compare', disable=not progress) as bar:
        if batch_size == 1:
            return [_one_pair(item, network, propose, reference, metadata, bar) for item in pairs]
        return _in_batches(pairs, network, where, propose, reference, metadata, batch_size, bar)


def _one_pair(item, network, propose, reference: bool, metadata: dict, bar) -> PairResult:
    restored, target = load_same_size(_named_paths(item))
    graph = pair_graph(network, restored, target, propose, pairwise=not reference, metadata=metadata)
    bar.update(1)
    return PairResult(item.name, *item.paths[:2], graph)


def _in_batches(pairs: list, network, where, propose, reference: bool, metadata: dict, batch_size: int,
                bar) -> list:
    chunks = [pairs[start:start + batch_size] for start in range(0, len(pairs), batch_size)]

    def prepare(chunk):
        return [_prepared(item, propose) for item in chunk]

    results = []
    with ThreadPoolExecutor(1) as reader:
        pending = reader.submit(prepare, chunks[0]) if chunks else None
        for index in range(len(chunks)):
            loaded = pending.result()
            pending = reader.submit(prepare, chunks[index + 1]) if index + 1 < len(chunks) else None
            for group in _by_size(loaded):
                anchors = torch.stack([rgb8_to_tensor(item[1]) for item in group]).to(where).contiguous()
                targets = torch.stack([rgb8_to_tensor(item[2]) for item in group]).to(where).contiguous()
                labels = torch.from_numpy(np.stack([item[3] for item in group])).to(where)
                graphs = predict_graphs(network, anchors, targets, labels, reference=reference, metadata=metadata)
                results += [(item[0], PairResult(item[0].name, *item[0].paths[:2], graph))
                            for item, graph in zip(group, graphs)]
            bar.update(len(loaded))
    order = {id(item): position for position, item in enumerate(pairs)}
    return [result for _, result in sorted(results, key=lambda entry: order[id(entry[0])])]


def _named_paths(item) -> dict:
    return {f'restored {item.name!r}': item.paths[0], f'reference {item.name!r}': item.paths[1]}


def _prepared(item, propose):
    (restored, target), label_map = prepare_pair(_named_paths(item), propose)
    return item, restored, target, label_map


def _by_size(loaded: list) -> list[list]:
    groups: dict = {}
    for item in loaded:
        groups.setdefault(item[1].shape, []).append(item)
    return list(groups.values())
