"""Model against model: two restorations of one reference compared region by region.

Both restored images are scored in reference mode on the same regions (proposed on the
reference); in each region the difference of their scores, with the relation thresholds of
``taxonomy`` (below 0.1: a tie; 0.1 to 0.3: slightly better; 0.3 or more: significantly
better), says which one is better there and by how much, and each graph says which
distortion each one leaves. Each region also carries both texture scores
(``engine.texture``): a restoration can lose on fidelity and win on texture, the
distortion-perception tradeoff seen region by region.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from panda_plugin.core.atomic import write_atomic
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.graph import DistortionGraph
from panda_plugin.core.taxonomy import RELATIONS, relation_from_scores, relation_ids_from_scores
from panda_plugin.engine.panda.folder_compare import compare_pairs
from panda_plugin.engine.panda.folders import ImageSet, pair_folders
from panda_plugin.engine.panda.predictor import predict_graphs, prepare_pair, region_proposer, resolve_model
from panda_plugin.engine.tensors import rgb8_to_tensor

#: Schema name of ``Duel.to_dict``.
DUEL_SCHEMA = 'panda-duel/2'


@dataclass(frozen=True)
class DuelRegion:
    """One region of a duel.

    Attributes:
        id: Region id (in both graphs).
        bbox: ``(x, y, w, h)``.
        area: Pixels.
        score_a: Fidelity of A's region to the reference.
        score_b: Fidelity of B's region.
        difference: ``score_a - score_b``.
        relation: A relative to B (``taxonomy.RELATIONS``).
        winner: ``'a'``, ``'b'`` or ``'tie'``.
        distortion_a: Distortion A leaves there (``clean`` when indistinguishable).
        severity_a: Its severity.
        distortion_b: Distortion B leaves there.
        severity_b: Its severity.
        texture_a: Texture score of A's region (None for graphs without texture).
        texture_b: Texture score of B's region.
    """

    id: int
    bbox: tuple
    area: int
    score_a: float
    score_b: float
    difference: float
    relation: str
    winner: str
    distortion_a: str
    severity_a: str
    distortion_b: str
    severity_b: str
    texture_a: float | None = None
    texture_b: float | None = None


class Duel:
    """Two restorations of one reference, region by region.

    Args:
        graph_a: Reference-mode graph of A against the reference.
        graph_b: Reference-mode graph of B, on the same regions.
        names: What to call A and B. Default: ``('A', 'B')``.
    """

    def __init__(self, graph_a: DistortionGraph, graph_b: DistortionGraph, names=('A', 'B')):
        if graph_a.image_size != graph_b.image_size or not np.array_equal(graph_a.label_map, graph_b.label_map):
            raise PandaInputError('the two graphs of a duel must share their regions')
        self.graph_a, self.graph_b, self.names = graph_a, graph_b, tuple(names)
        scores_a = np.array([r.anchor.score for r in graph_a.regions])
        scores_b = np.array([r.anchor.score for r in graph_b.regions])
        relations = relation_ids_from_scores(scores_a, scores_b)
        self.regions = [
            DuelRegion(ra.id, tuple(ra.bbox), ra.area, float(sa), float(sb), float(sa - sb), RELATIONS[rel],
                       'tie' if rel == 0 else ('a' if RELATIONS[rel].endswith('better') else 'b'),
                       ra.anchor.distortion, ra.anchor.severity, rb.anchor.distortion, rb.anchor.severity,
                       ra.anchor.texture, rb.anchor.texture)
            for ra, rb, sa, sb, rel in zip(graph_a.regions, graph_b.regions, scores_a, scores_b, relations)]

    @property
    def score_a(self) -> float:
        """Image score of A (area-weighted mean of its region scores)."""
        return self.graph_a.anchor_score

    @property
    def score_b(self) -> float:
        """Image score of B."""
        return self.graph_b.anchor_score

    @property
    def texture_a(self) -> float | None:
        """Image texture score of A (area-weighted mean of its region textures)."""
        return self.graph_a.anchor_texture

    @property
    def texture_b(self) -> float | None:
        """Image texture score of B."""
        return self.graph_b.anchor_texture

    @property
    def relation(self) -> str:
        """A relative to B over the whole image, from the image scores."""
        return relation_from_scores(self.score_a, self.score_b)

    def summary(self) -> dict:
        """Share of the image area and number of regions where each wins, and the distortions
        each leaves (share of the image area by distortion other than ``clean``)."""
        total = sum(r.area for r in self.regions)
        result = {}
        for winner in ('a', 'b', 'tie'):
            chosen = [r for r in self.regions if r.winner == winner]
            result[f'{winner}_better' if winner != 'tie' else 'tie'] = {
                'regions': len(chosen), 'area': sum(r.area for r in chosen) / total}
        for key, graph in (('a', self.graph_a), ('b', self.graph_b)):
            result[f'distortions_{key}'] = {name: round(share, 6) for name, share in
                                            graph.distortion_areas('anchor').items() if name != 'clean' and share > 0}
        return result

    def to_dict(self) -> dict:
        """The duel as JSON-ready data (schema ``panda-duel/2``: ``panda-duel/1`` with the
        texture scores)."""
        height, width = self.graph_a.image_size
        return {'schema': DUEL_SCHEMA, 'a': self.names[0], 'b': self.names[1], 'image_size': [height, width],
                'score_a': self.score_a, 'score_b': self.score_b, 'texture_a': self.texture_a,
                'texture_b': self.texture_b, 'relation': self.relation,
                'summary': self.summary(), 'metadata': self.graph_a.metadata,
                'regions': [{**asdict(r), 'bbox': list(r.bbox)} for r in self.regions]}

    def to_json(self, path: str | os.PathLike | None = None, indent: int | None = 1) -> str:
        """The JSON text of ``to_dict``, also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            write_atomic(path, text, 'duel JSON file')
        return text


def folder_summary(duels) -> dict:
    """What a folder of duels says as a whole.

    Args:
        duels: ``Duel`` items (one per image), all with the same names.

    Returns:
        ``images``; ``mean_score`` of A and B (mean of the image scores); ``images_won`` (by
        each image's whole-image relation, thresholds as for regions: ``a``, ``b``, ``tie``)
        and ``higher_score`` (images where each scores strictly higher, and ``equal``);
        ``regions_won`` (regions over all images: ``a``, ``b``, ``tie``, ``total``);
        ``distortions_a`` / ``distortions_b``: per distortion other than ``clean``, the share
        of the image area it covers, averaged over the images, largest first.
    """
    duels = list(duels)
    if not duels:
        raise PandaInputError('no duels to summarise; accepted: one or more')
    scores = {key: [getattr(match, f'score_{key}') for match in duels] for key in ('a', 'b')}
    winners = [match.relation for match in duels]
    regions = [region.winner for match in duels for region in match.regions]
    summary = {'images': len(duels), 'names': list(duels[0].names),
               'mean_score': {key: float(np.mean(values)) for key, values in scores.items()},
               'images_won': {'a': sum(r.endswith('better') for r in winners),
                              'b': sum(r.endswith('worse') for r in winners),
                              'tie': winners.count('same')},
               'higher_score': {'a': sum(a > b for a, b in zip(scores['a'], scores['b'])),
                                'b': sum(b > a for a, b in zip(scores['a'], scores['b'])),
                                'equal': sum(a == b for a, b in zip(scores['a'], scores['b']))},
               'regions_won': {key: regions.count(key) for key in ('a', 'b', 'tie')} | {'total': len(regions)}}
    for key in ('a', 'b'):
        shares: dict = {}
        for match in duels:
            for name, share in match.summary()[f'distortions_{key}'].items():
                shares[name] = shares.get(name, 0.0) + share / len(duels)
        summary[f'distortions_{key}'] = dict(sorted(shares.items(), key=lambda item: -item[1]))
    return summary


def duel(a, b, reference, *, masks=None, segmenter=None, model=None, device=None, names=('A', 'B')) -> Duel:
    """Compare two restorations of one reference region by region.

    Args:
        a: First restored image (path, PIL image, HxWx3 uint8 array or 3xHxW [0,1] tensor).
        b: Second restored image, same size.
        reference: Their reference, same size; the regions are proposed on it.
        masks: Regions instead of the segmenter (label map or masks, array or file).
        segmenter: Region proposer spec. Default: ``'superpixel'``.
        model: Weights name or path, or a ``PANDA`` network. Default: ``'panda-tiny'``.
        device: Torch device. Default: CPU.
        names: What to call A and B.

    Returns:
        The ``Duel``.
    """
    if masks is not None and segmenter is not None:
        raise PandaInputError('give masks or segmenter, not both')
    propose, regions = (None, 'masks') if masks is not None else region_proposer(segmenter)
    images, label_map = prepare_pair({'a': a, 'b': b, 'reference': reference}, propose, masks)
    network = resolve_model(model, device)
    where = next(network.parameters()).device
    tensors = [rgb8_to_tensor(image, where) for image in images]
    labels = torch.from_numpy(label_map).to(where)
    graphs = predict_graphs(network, torch.stack(tensors[:2]), torch.stack([tensors[2]] * 2),
                            torch.stack([labels, labels]), reference=True, metadata={'regions': regions})
    return Duel(*graphs, names=names)


def duel_folders(folder_a, folder_b, references, *, segmenter=None, model=None, device=None,
                 batch_size: int | None = None, progress: bool = True) -> list[tuple[ImageSet, Duel]]:
    """``duel`` for every name of ``folder_a`` found in the other two folders.

    Args:
        folder_a: Restorations by A.
        folder_b: Restorations by B (same file names, any extension).
        references: The references.
        segmenter: Region proposer spec. Default: ``'superpixel'``.
        model: Weights name or path. Default: ``'panda-tiny'``.
        device: Torch device. Default: CPU.
        batch_size: Pairs per network call. Default: 1 on CPU, 8 on other devices.
        progress: Show a progress bar on stderr.

    Returns:
        ``(ImageSet of (a, b, reference) paths, Duel)`` per name, sorted by name.
    """
    triples = pair_folders(folder_a, folder_b, references)
    pairs = [ImageSet(t.name, (t.paths[side], t.paths[2])) for t in triples for side in (0, 1)]
    results = compare_pairs(pairs, segmenter=segmenter, model=model, device=device, reference=True,
                            batch_size=batch_size, progress=progress)
    names = (Path(folder_a).name or 'A', Path(folder_b).name or 'B')
    return [(triple, Duel(results[2 * i].graph, results[2 * i + 1].graph, names=names))
            for i, triple in enumerate(triples)]
