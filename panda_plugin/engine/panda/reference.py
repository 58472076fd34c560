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

The graph's metadata also keeps ``network_relation``: the whole-image relation of the
restored image to the reference as the network reads the pair in pairwise mode. When it is
``SWAPPED_RELATION`` the reference looks clearly more degraded than the restored image, and
``swap_warning`` says that the two may have been given the wrong way round.
"""
from __future__ import annotations

import numpy as np
import torch

from panda_plugin.core.graph import DistortionGraph, MeasuredLabelMap
from panda_plugin.core.taxonomy import relation_ids_from_scores
from panda_plugin.engine.panda.human_fidelity import fidelity_of
from panda_plugin.engine.panda.reference_inputs import reference_inputs
from panda_plugin.engine.panda.texture import texture_of

#: The two modes a graph can come from (``metadata['mode']``).
MODES = ('pairwise', 'reference')
#: A restored region scoring at least this is ``clean``: far below a difference people see
#: (docs/calibration.md).
INDISTINGUISHABLE = 0.95
#: ``network_relation`` of a pair whose arguments are probably swapped: the restored image at
#: least 0.3 better than its reference. Measured on the 18 held-out bundled images at 256 px
#: (docs/record/panda/swap_check.md): none of 198 degraded images given in the right order
#: came out better than its reference at all, while 87 of the 198 swapped pairs reach it
#: (all 18 with noise 0.15, 14 with JPEG quality 5, 8 with blur sigma 4).
SWAPPED_RELATION = 'significantly_better'


def reference_measures(restored: torch.Tensor, reference: torch.Tensor, label_maps, fidelity: bool = True,
                       texture: bool = True) -> tuple[list | None, list | None]:
    """Region fidelity and texture of a batch, from one preparation of the images
    (``reference_inputs``): the measuring half of the one reference-mode path behind
    ``compare``, folders, the pyiqa metric, ``calculate_panda``, monitoring and the loss.

    Args:
        restored: Bx3xHxW images in [0, 1].
        reference: Bx3xHxW references.
        label_maps: B label maps (BxHxW tensor or sequence of HxW arrays).
        fidelity: Measure fidelity (``human_fidelity.fidelity_of``). Default: True.
        texture: Measure texture (``texture.texture_of``). Default: True.

    Returns:
        ``(scores, textures)``: one float64 tensor of region values per image for each measure
        asked for (None for the other), differentiable in ``restored``.
    """
    inputs = reference_inputs(restored, reference, label_maps)
    return fidelity_of(inputs) if fidelity else None, texture_of(inputs) if texture else None


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


def swap_warning(graph: DistortionGraph, restored: str = 'the restored image',
                 reference: str = 'the reference') -> str | None:
    """One line saying that a reference-mode pair looks swapped, or None.

    Args:
        graph: A graph from ``compare`` or ``folder_compare`` (reference mode).
        restored: What to call the restored image (e.g. its path).
        reference: What to call the reference.

    Returns:
        The message when the graph's ``network_relation`` is ``SWAPPED_RELATION``, else None.
    """
    if graph.metadata.get('network_relation') != SWAPPED_RELATION:
        return None
    return (f'the reference {reference} looks more degraded than the restored image {restored} (the network '
            f'finds the restored image {SWAPPED_RELATION.replace("_", " ")}); the two may be swapped: give the '
            'restored image first and the reference second')


def reference_graph(label_map: np.ndarray | MeasuredLabelMap, scores, distortion_logits,
                    metadata: dict | None = None, textures=None) -> DistortionGraph:
    """The reference-mode graph of one restored image.

    Args:
        label_map: HxW label map with N regions (or the same measured, ``measure_label_map``).
        scores: N region scores (``reference_fidelity``).
        distortion_logits: Nx15 distortion logits of the restored regions.
        metadata: Stored with the graph; ``mode`` is set to ``'reference'``.
        textures: N region texture scores (``texture.batch_texture``). Default: none.

    Returns:
        The validated graph (anchor = restored image, target = reference).
    """
    anchor, target, relations = reference_labels(scores, distortion_logits, textures)
    return DistortionGraph.from_labels(label_map, anchor, target, relations,
                                       metadata={**(metadata or {}), 'mode': 'reference'})


def reference_graphs(distortion_logits: torch.Tensor, scores: list, label_maps, metadata=None,
                     textures: list | None = None) -> list:
    """Reference-mode graphs of a batch.

    Args:
        distortion_logits: BxRx15 distortion logits of the restored images (``predict``'s
            ``anchor_distortion``).
        scores: One tensor of region scores per image (``reference_fidelity``).
        label_maps: The B label maps (arrays, tensors, or measured: ``measure_label_map``).
        metadata: Stored with the graphs: one mapping for all, or a list of one per image.
        textures: One tensor of region texture scores per image. Default: none.

    Returns:
        One graph per image.
    """
    graphs = []
    if not isinstance(metadata, list):
        metadata = [metadata] * len(label_maps)
    for index, label_map in enumerate(label_maps):
        if not isinstance(label_map, MeasuredLabelMap):
            label_map = label_map.cpu().numpy() if torch.is_tensor(label_map) else np.asarray(label_map)
        region_scores = scores[index].detach().cpu().double().numpy()
        logits = distortion_logits[index, :len(region_scores)].detach().cpu().double().numpy()
        region_textures = None if textures is None else textures[index].detach().cpu().double().numpy()
        graphs.append(reference_graph(label_map, region_scores, logits, metadata[index], region_textures))
    return graphs
