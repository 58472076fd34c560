"""``compare``: the distortion graph of an image pair predicted by a trained PANDA."""
from __future__ import annotations

import os
import warnings
from concurrent.futures import Future
from contextlib import nullcontext

import numpy as np
import torch

from panda_plugin.core.errors import PandaInputError, PandaWarning
from panda_plugin.core.graph import DistortionGraph, measure_label_map
from panda_plugin.core.region_labels import label_field
from panda_plugin.core.taxonomy import relation_from_scores
from panda_plugin.engine.image_io import load_image, tensor_to_rgb8
from panda_plugin.engine.panda.background import encode_in_background, in_background, sharing_threads
from panda_plugin.engine.panda.human_fidelity import fidelity_of
from panda_plugin.engine.panda.models.heads import decode
from panda_plugin.engine.panda.models.panda_arch import PANDA, PairEncoding, RegionTokens
from panda_plugin.engine.panda.reference import reference_graphs, reference_measures, swap_warning
from panda_plugin.engine.panda.reference_inputs import reference_inputs
from panda_plugin.engine.panda.texture import texture_of
from panda_plugin.engine.panda.weights import WEIGHTS_VARIABLE, check_device, load_model
from panda_plugin.engine.regions import build_segmenter, load_masks
from panda_plugin.engine.tensors import rgb8_to_tensor

_MODELS: dict = {}


def compare(anchor, target, *, masks=None, segmenter=None, points=None, points_method=None, model=None,
            device=None, pairwise: bool = False, reference: bool | None = None) -> DistortionGraph:
    """The distortion graph of ``anchor`` (e.g. a restored image) against ``target`` (its reference).

    Regions come from ``masks`` when given, from ``points`` (one click per object) when
    given, otherwise from ``segmenter`` run on the target (in restoration the target is the
    reference, whose edges are the true ones).

    By default the target is the reference (reference mode, as in ``panda score``, the pyiqa
    metric and BasicSR): each anchor region's score is its fidelity to the target region (1
    exactly when identical) and its texture how well its texture statistics match
    (``engine.panda.texture``), the target scores 1 and is ``clean``, relations and severities
    follow from the score gap, and the network gives the distortion type (see
    ``engine.panda.reference``). A ``PandaWarning`` says when the target looks clearly more degraded
    than the anchor (the two were probably given the wrong way round). With ``pairwise=True``
    both images are of unknown quality (the paper's mode: the network predicts every label;
    swapping the images mirrors the graph).

    Args:
        anchor: Path, PIL image, HxWx3 uint8 RGB array or 3xHxW [0,1] tensor.
        target: The same kinds, same size as ``anchor``.
        masks: HxW integer label map or NxHxW boolean masks (array or file path).
        segmenter: Region proposer spec or callable (see ``regions.build_segmenter``).
            Default: ``'superpixel'``.
        points: Clicks, one per object, in target pixels: ``[(x, y), ...]``,
            ``[(x, y, 'stuff'), ...]``, ``"x,y;x,y"`` or a JSON file (see ``points.read_clicks``);
            region ``i`` is click ``i``'s.
        points_method: ``'learned'`` (default), ``'geodesic'`` or ``'euclidean'``.
        model: A ``PANDA`` network, or a weights name or path for ``load_model``.
            Default: ``'panda-tiny'``.
        device: Torch device. Default: the model's device (CPU for loaded weights).
        pairwise: The paper's pairwise mode instead of reference mode. Default: False.
        reference: Deprecated (reference mode is the default): ``reference=True`` is the
            default, ``reference=False`` is ``pairwise=True``.

    Returns:
        The validated graph; its metadata names the weights, the region source and the
        mode (``'reference'`` or ``'pairwise'``).
    """
    pairwise = _pairwise(pairwise, reference)
    given = [name for name, value in (('masks', masks), ('segmenter', segmenter), ('points', points))
             if value is not None]
    if len(given) > 1:
        raise PandaInputError(f'give one of masks, segmenter and points, not {" and ".join(given)}')
    if points_method is not None and points is None:
        raise PandaInputError('points_method applies only with points')
    if masks is not None:
        propose, regions = (lambda image: load_masks(masks, image.shape[:2])), 'masks'
    else:
        propose, regions = region_proposer(segmenter, points, points_method)
    anchor_image, target_image = load_same_size({'anchor': anchor, 'target': target})
    graph = pair_graph(resolve_model(model, device), anchor_image, target_image, propose, pairwise=pairwise,
                       metadata={'regions': os.fspath(regions)})
    names = [f'{os.fspath(image)!r}' if isinstance(image, (str, os.PathLike)) else f'({side})'
             for image, side in ((anchor, 'anchor'), (target, 'target'))]
    message = swap_warning(graph, restored=names[0], reference=names[1])
    if message:
        warnings.warn(message, PandaWarning, stacklevel=2)
    return graph


def pair_graph(network: PANDA, anchor: np.ndarray, target: np.ndarray, propose, *, pairwise: bool = False,
               metadata: dict | None = None) -> DistortionGraph:
    """The graph of one loaded pair, as ``compare`` makes it: the target's regions are proposed
    while the network encodes the pair in the background.

    Args:
        network: PANDA in eval mode.
        anchor: HxWx3 uint8 RGB anchor (restored image).
        target: HxWx3 uint8 RGB target (reference), the same size.
        propose: Region proposer: target image -> HxW label map.
        pairwise: The paper's pairwise mode instead of reference mode. Default: False.
        metadata: Stored with the graph, beside the weights name and the mode.

    Returns:
        The validated graph.
    """
    where = next(network.parameters()).device
    anchors, targets = (rgb8_to_tensor(image, where)[None].contiguous() for image in (anchor, target))
    pending = encode_in_background(network, anchors, targets)
    labels = torch.from_numpy(np.asarray(propose(target), np.int64))[None].to(where)
    return predict_graphs(network, anchors, targets, labels, reference=not pairwise, metadata=metadata,
                          encoding=pending)[0]


def _pairwise(pairwise: bool, reference: bool | None) -> bool:
    """``compare``'s mode from ``pairwise`` and the deprecated ``reference`` keyword."""
    if reference is None:
        return bool(pairwise)
    if pairwise and reference:
        raise PandaInputError('pairwise=True and reference=True exclude each other; reference mode is the '
                              'default, so give pairwise=True alone for the pairwise mode')
    warnings.warn(f'compare(reference={reference!r}) is deprecated: reference mode is the default; '
                  'use pairwise=True for the pairwise mode', DeprecationWarning, stacklevel=3)
    return not reference


def region_proposer(segmenter=None, points=None, points_method=None) -> tuple:
    """The region proposer of ``compare``, ``compare_pairs`` and ``duel``, and its name in graph metadata.

    Args:
        segmenter: Region proposer spec or callable (``regions.build_segmenter``). Default: ``'superpixel'``.
        points: Clicks, one per object (then the spec is ``'points'`` or ``'points:METHOD'``).
        points_method: Click method. Default: the click proposer's.

    Returns:
        ``(proposer, name)``: the callable ``image -> label map`` and what the graphs' ``regions`` metadata says.
    """
    if points is not None:
        propose = build_segmenter(f'points:{points_method}' if points_method else 'points', points=points)
        return propose, f'points:{propose.method}'
    spec = 'superpixel' if segmenter is None else segmenter
    return build_segmenter(spec), os.fspath(spec) if isinstance(spec, (str, os.PathLike)) else type(spec).__name__


def prepare_pair(images: dict, propose=None, masks=None) -> tuple[list, np.ndarray]:
    """Load images of one size and their regions, proposed on the last image (the reference).

    Args:
        images: Name -> image (anything ``image_io.load_image`` reads), the one the regions come from last.
        propose: Region proposer (``region_proposer``); unused when ``masks`` is given.
        masks: HxW label map or NxHxW boolean masks (array or file path) instead of ``propose``.

    Returns:
        ``(images, label_map)``: HxWx3 uint8 RGB arrays in the order given, and an int64 HxW label map.
    """
    loaded = load_same_size(images)
    label_map = load_masks(masks, loaded[-1].shape[:2]) if masks is not None else propose(loaded[-1])
    return loaded, np.asarray(label_map, np.int64)


def load_same_size(images: dict) -> list:
    """Load images that must have one size.

    Args:
        images: Name -> image (anything ``image_io.load_image`` reads).

    Returns:
        HxWx3 uint8 RGB arrays in the order given.
    """
    loaded = [load_image(image, name=name) for name, image in images.items()]
    if len({image.shape for image in loaded}) != 1:
        sizes = ', '.join(f'{name} is {image.shape[1]}x{image.shape[0]}' for name, image in zip(images, loaded))
        raise PandaInputError(f'{sizes}; the images must have the same size')
    return loaded


def predict_graphs(network: PANDA, anchor: torch.Tensor, target: torch.Tensor, label_maps: torch.Tensor, *,
                   reference: bool = False, region_scores: list | None = None,
                   region_textures: list | None = None, metadata: dict | None = None,
                   encoding: Future | None = None) -> list[DistortionGraph]:
    """Distortion graphs of a batch: the one prediction path behind ``compare``, ``PandaMetric``
    (pyiqa ``panda``, BasicSR ``calculate_panda``) and ``PandaSRModel``'s monitoring.

    Args:
        network: PANDA in eval mode.
        anchor: Bx3xHxW anchor (restored) images in [0, 1].
        target: Bx3xHxW target (reference) images in [0, 1].
        label_maps: BxHxW int64 label maps.
        reference: Reference mode (``engine.panda.reference``); default: the pairwise mode.
        region_scores: Reference mode only: the region scores of ``reference_measures`` when
            the caller has them already, or their future (``background.in_background``).
            Default: computed here.
        region_textures: Reference mode only: the region textures of ``reference_measures``
            when the caller has them already, or their future. Default: computed here (with
            the scores, from one preparation of the images).
        metadata: Stored with every graph, beside the weights name and the mode (and in
            reference mode ``network_relation``, see ``engine.panda.reference``).
        encoding: The future of ``encode_in_background(network, anchor, target)`` when the
            caller started it. Then, when both measures are made here, the network's region
            tokens and texture are made in the background (``measures_beside``) while fidelity
            and the network's decoder run here, on half of the torch threads each
            (``background.sharing_threads``). Default: the network encodes the pair here, and
            the measures are made after it (a large pair's prepared images are then not held
            while the network runs).

    Returns:
        One graph per pair.
    """
    metadata = {'weights': getattr(network, 'weights_name', 'custom'), **(metadata or {})}
    beside = reference and region_scores is None and region_textures is None and encoding is not None
    with torch.no_grad(), sharing_threads() if beside else nullcontext() as background:
        if beside:
            # the region tokens in the background first, then texture; the decoder here after fidelity
            tokens = in_background(_tokens_after, network, label_maps, region_slots(network, label_maps), encoding,
                                   threads=background)
            region_scores, region_textures = measures_beside(reference_inputs(anchor, target, label_maps),
                                                             background)
            outputs = network.decode_tokens(tokens.result())
        else:
            outputs = predict(network, anchor, target, label_maps, None if encoding is None else encoding.result())
        if not reference:
            return graphs_of(outputs, label_maps, {**metadata, 'mode': 'pairwise'})
        if region_scores is None or region_textures is None:
            scores, textures = reference_measures(anchor, target, label_maps, fidelity=region_scores is None,
                                                  texture=region_textures is None)
            region_scores = scores if region_scores is None else region_scores
            region_textures = textures if region_textures is None else region_textures
        # the label maps are measured while a measure may still be made in the background
        measured = [measure_label_map(label_map) for label_map in label_maps.cpu().numpy()]
        sides = image_scores(torch.stack([outputs[label_field(side, 'score')] for side in ('anchor', 'target')]),
                             measured).tolist()
        region_scores, region_textures = (value.result() if isinstance(value, Future) else value
                                          for value in (region_scores, region_textures))
    per_image = [{**metadata, 'network_relation': relation_from_scores(a, t)} for a, t in zip(*sides)]
    return reference_graphs(outputs[label_field('anchor', 'distortion')], region_scores, measured, per_image,
                            region_textures)


def measures_beside(inputs, threads: int, here: str = 'fidelity') -> tuple:
    """Fidelity and texture of a prepared batch side by side: one made on this thread (with
    gradients when enabled), the other started in the background meanwhile.

    Args:
        inputs: The prepared batch (``reference_inputs``).
        threads: The background's torch threads (``background.sharing_threads``).
        here: The measure made on this thread, ``'fidelity'`` or ``'texture'``.

    Returns:
        ``(scores, textures)``, the one made in the background as its future.
    """
    measures = {'fidelity': fidelity_of, 'texture': texture_of}
    other = 'texture' if here == 'fidelity' else 'fidelity'
    pending = in_background(measures[other], inputs, threads=threads)
    made = measures[here](inputs)
    return (made, pending) if here == 'fidelity' else (pending, made)


def predict(network: PANDA, anchor: torch.Tensor, target: torch.Tensor, label_maps: torch.Tensor,
            encoding: PairEncoding | None = None) -> dict:
    """PANDA's raw outputs for a batch of pairs; differentiable when gradients are enabled.

    Args:
        network: PANDA.
        anchor: Bx3xHxW anchor images in [0, 1].
        target: Bx3xHxW target images in [0, 1].
        label_maps: BxHxW int64 label maps (``-1`` outside regions), e.g. from ``label_maps_of``.
        encoding: ``network.encode(anchor, target)`` when the caller has it already.

    Returns:
        The network's outputs (see ``PandaHeads.forward``), one slot per region of the image
        with the most regions; slots beyond an image's own regions are padding.
    """
    return network(anchor, target, label_maps, region_slots(network, label_maps), encoding)


def region_slots(network: PANDA, label_maps: torch.Tensor) -> int:
    """The region slots of a batch: one per region of the image with the most regions.

    Args:
        network: PANDA.
        label_maps: BxHxW int64 label maps.

    Returns:
        The number of slots R.

    Raises:
        PandaInputError: More regions than the network's token pool holds.
    """
    count = int(label_maps.max()) + 1
    capacity = len(network.token_pool.tokens)
    if count > capacity:
        raise PandaInputError(f'{count} regions; this model takes at most {capacity}. Use fewer '
                              'regions (e.g. segmenter=SuperpixelSegmenter(n_regions=...))')
    return count


def _tokens_after(network: PANDA, label_maps: torch.Tensor, regions: int, encoding: Future) -> RegionTokens:
    """``network.region_tokens`` once the pair's encoding (started earlier) is made."""
    return network.region_tokens(label_maps, regions, encoding.result())


def label_maps_of(images: torch.Tensor, segmenter) -> torch.Tensor:
    """Regions of each image in a batch.

    Args:
        images: Bx3xHxW images in [0, 1] (any device; gradients are not followed).
        segmenter: A region proposer (``regions.build_segmenter``).

    Returns:
        BxHxW int64 label maps on the images' device.
    """
    pictures = tensor_to_rgb8(images)
    maps = np.stack([np.asarray(segmenter(picture), np.int64) for picture in pictures])
    return torch.from_numpy(maps).to(images.device)


def image_scores(scores: torch.Tensor, label_maps) -> torch.Tensor:
    """Whole-image scores: region scores weighted by region area, as ``DistortionGraph`` does.

    Args:
        scores: BxR region scores (``<side>_score`` of ``predict``), or ...xBxR (several
            scores of the same regions, e.g. both sides stacked).
        label_maps: BxHxW int64 label maps, or the B label maps measured already
            (``measure_label_map``: their areas are read, not counted again).

    Returns:
        B (or ...xB) scores in [0, 1], differentiable in ``scores``.
    """
    batch, count = scores.shape[-2:]
    if torch.is_tensor(label_maps):
        flat = label_maps.flatten(1)
        areas = torch.zeros(batch, count + 1, device=scores.device, dtype=scores.dtype)
        areas.scatter_add_(1, (flat + 1).clamp(max=count), torch.ones_like(flat, dtype=scores.dtype))
        areas = areas[:, 1:]
    else:
        areas = torch.zeros(batch, count, device=scores.device, dtype=scores.dtype)
        for row, measured in zip(areas, label_maps):
            row[:len(measured.areas)] = torch.from_numpy(measured.areas)
    return (areas * scores).sum(-1) / areas.sum(-1)


def graphs_of(outputs: dict, label_maps: torch.Tensor, metadata: dict | None = None) -> list[DistortionGraph]:
    """Distortion graphs of a batch from ``predict``'s outputs.

    Args:
        outputs: Outputs of ``predict``.
        label_maps: The BxHxW label maps given to ``predict``.
        metadata: Stored with every graph.

    Returns:
        One graph per pair.
    """
    decoded = decode(outputs).map(lambda value: value.detach().cpu())
    graphs = []
    for index, label_map in enumerate(label_maps.cpu().numpy()):
        count = int(label_map.max()) + 1
        labels = decoded.map(lambda value: (value[index, :count].double() if value.is_floating_point()
                                            else value[index, :count]).numpy())
        graphs.append(DistortionGraph.from_labels(label_map, labels.side('anchor'), labels.side('target'),
                                                  labels.relation, metadata=metadata))
    return graphs


def resolve_model(model=None, device=None) -> PANDA:
    """A PANDA network from a module, a weights name or path (cached), or the default.

    Args:
        model: ``PANDA`` network, weights name or path, or None for ``panda-tiny``.
        device: Torch device. Default: the model's own, or CPU.

    Returns:
        The network in eval mode.
    """
    check_device(device)
    if isinstance(model, PANDA):
        return model.to(device).eval() if device is not None else model.eval()
    name = 'panda-tiny' if model is None else os.fspath(model)
    key = (name, os.environ.get(WEIGHTS_VARIABLE), str(device or 'cpu'))
    if key not in _MODELS:
        _MODELS[key] = load_model(name, device or 'cpu')
    return _MODELS[key]
