"""Reference mode: the distortion graph of a restored image against its known reference.

In the paper's pairwise mode both images are of unknown quality and the network predicts
every label. When the target is the reference (restoration: a restored image against its
ground truth), the label oracle's own answer can be computed exactly, so reference mode
uses it:

- score of each region of the restored image (the anchor): its fidelity to the reference
  region (``human_fidelity.reference_fidelity``: multi-scale gradient-magnitude similarity with
  luminance and chroma terms, pooled over the whole region at every scale and calibrated on
  human scores); exactly 1 when the region's pixels are identical;
- texture of each region of the restored image: how well its texture statistics match the
  reference region's (``engine.panda.texture``), tolerant of resampled detail; the reference side
  has texture 1;
- the reference side (the target): score 1, ``clean``;
- relation: from the score gap ``1 - score`` with the official thresholds (gap below
  ``taxonomy.SAME_THRESHOLD`` is ``same``, at or above ``SIGNIFICANT_THRESHOLD``
  ``significantly_worse``, otherwise ``slightly_worse``);
- distortion of the restored region: ``clean`` exactly when its score is at least
  ``INDISTINGUISHABLE``; otherwise the trained network's most likely distortion other than
  ``clean`` (the network sees the pair as in pairwise mode);
- severity: ``clean`` with ``clean``; otherwise ``minor`` for a ``same`` relation,
  ``moderate`` for ``slightly_worse`` and ``severe`` for ``significantly_worse``.

The whole-image score (and texture) is the area-weighted mean of the region scores (and
textures), as in pairwise mode. Scores and textures are differentiable in the restored image.
"""
from __future__ import annotations

import numpy as np
import torch

from panda_plugin.core.graph import DistortionGraph
from panda_plugin.core.taxonomy import relation_ids_from_scores
from panda_plugin.engine.panda.human_fidelity import reference_fidelity

#: The two modes a graph can come from (``metadata['mode']``).
MODES = ('pairwise', 'reference')
#: A restored region scoring at least this is ``clean``: far below a difference people see
#: (docs/calibration.md).
INDISTINGUISHABLE = 0.95


def reference_scores(restored: torch.Tensor, reference: torch.Tensor, label_maps) -> list:
    """Region scores of restored images against their references.

    Args:
        restored: Bx3xHxW images in [0, 1].
        reference: Bx3xHxW references.
        label_maps: B label maps (BxHxW tensor or sequence of HxW arrays).

    Returns:
        One float64 tensor of region scores per image, differentiable in ``restored``.
    """
    return reference_fidelity(restored, reference, label_maps)


def reference_labels(scores, distortion_logits, textures=None) -> tuple[dict, dict, np.ndarray]:
    """Labels of both sides and relations from region scores and distortion logits.

    Args:
        scores: N region scores of the restored image in [0, 1].
        distortion_logits: Nx15 distortion logits of the restored regions (any monotone
            class scores).
        textures: N region texture scores of the restored image. Default: none.

    Returns:
        ``(anchor, target, relation_ids)``: label mappings (``distortion``, ``severity``,
        ``score`` and, with ``textures``, ``texture``) of the restored image and of the
        reference, and the relation ids.
    """
    scores = np.asarray(scores, np.float64)
    logits = np.asarray(distortion_logits, np.float64).reshape(len(scores), -1)
    relations = relation_ids_from_scores(scores, np.ones_like(scores))
    clean = scores >= INDISTINGUISHABLE
    distortion = np.where(clean, 0, logits[:, 1:].argmax(1) + 1)
    severity = np.where(clean, 0, relations + 1)
    zeros = np.zeros(len(scores), np.int64)
    anchor = {'distortion': distortion, 'severity': severity, 'score': scores}
    target = {'distortion': zeros, 'severity': zeros, 'score': np.ones_like(scores)}
    if textures is not None:
        anchor['texture'] = np.asarray(textures, np.float64)
        target['texture'] = np.ones_like(scores)
    return anchor, target, relations


def reference_graph(label_map: np.ndarray, scores, distortion_logits, metadata: dict | None = None,
                    textures=None) -> DistortionGraph:
    """The reference-mode graph of one restored image.

    Args:
        label_map: HxW label map with N regions.
        scores: N region scores (``reference_scores``).
        distortion_logits: Nx15 distortion logits of the restored regions.
        metadata: Stored with the graph; ``mode`` is set to ``'reference'``.
        textures: N region texture scores (``texture.batch_texture``). Default: none.

    Returns:
        The validated graph (anchor = restored image, target = reference).
    """
    anchor, target, relations = reference_labels(scores, distortion_logits, textures)
    return DistortionGraph.from_labels(label_map, anchor, target, relations,
                                       metadata={**(metadata or {}), 'mode': 'reference'})


def reference_graphs(distortion_logits: torch.Tensor, scores: list, label_maps, metadata: dict | None = None,
                     textures: list | None = None) -> list:
    """Reference-mode graphs of a batch.

    Args:
        distortion_logits: BxRx15 distortion logits of the restored images (``predict``'s
            ``anchor_distortion``).
        scores: One tensor of region scores per image (``reference_scores``).
        label_maps: The B label maps.
        metadata: Stored with every graph.
        textures: One tensor of region texture scores per image. Default: none.

    Returns:
        One graph per image.
    """
    graphs = []
    for index, label_map in enumerate(label_maps):
        label_map = label_map.cpu().numpy() if torch.is_tensor(label_map) else np.asarray(label_map)
        region_scores = scores[index].detach().cpu().double().numpy()
        logits = distortion_logits[index, :len(region_scores)].detach().cpu().double().numpy()
        region_textures = None if textures is None else textures[index].detach().cpu().double().numpy()
        graphs.append(reference_graph(label_map, region_scores, logits, metadata, region_textures))
    return graphs
