"""Distortion graphs of many image pairs with one network, in batches (``panda compare
DIR DIR``)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.graph import DistortionGraph
from panda_plugin.engine.panda.predictor import predict_graphs, prepare_pair, region_proposer, resolve_model
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
    propose, regions = region_proposer(segmenter)
    network = resolve_model(model, device)
    where = next(network.parameters()).device
    metadata = {'regions': regions}
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
                anchors = torch.stack([rgb8_to_tensor(item[1]) for item in group]).to(where).contiguous()
                targets = torch.stack([rgb8_to_tensor(item[2]) for item in group]).to(where).contiguous()
                labels = torch.from_numpy(np.stack([item[3] for item in group])).to(where)
                graphs = predict_graphs(network, anchors, targets, labels, reference=reference, metadata=metadata)
                results += [(item[0], PairResult(item[0].name, *item[0].paths[:2], graph))
                            for item, graph in zip(group, graphs)]
            bar.update(len(loaded))
    bar.close()
    order = {id(item): position for position, item in enumerate(pairs)}
    return [result for _, result in sorted(results, key=lambda entry: order[id(entry[0])])]


def _prepared(item, propose):
    (restored, target), label_map = prepare_pair({f'restored {item.name!r}': item.paths[0],
                                                  f'reference {item.name!r}': item.paths[1]}, propose)
    return item, restored, target, label_map


def _by_size(loaded: list) -> list[list]:
    groups: dict = {}
    for item in loaded:
        groups.setdefault(item[1].shape, []).append(item)
    return list(groups.values())
