"""The PANDA full-reference metric as a torch module: one score per restored image."""
from __future__ import annotations

import math
import os
from contextlib import nullcontext

import torch
from torch import nn

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.image_io import check_image_size
from panda_plugin.engine.panda.background import encode_in_background, sharing_threads
from panda_plugin.engine.panda.fidelity import padded
from panda_plugin.engine.panda.predictor import image_scores, label_maps_of, measures_beside, predict_graphs
from panda_plugin.engine.panda.reference import reference_measures
from panda_plugin.engine.panda.reference_inputs import reference_inputs
from panda_plugin.engine.panda.spatial import score_map
from panda_plugin.engine.panda.weights import DEFAULT_WEIGHTS, check_device, load_model
from panda_plugin.engine.regions import build_segmenter


class PandaMetric(nn.Module):
    """Quality of restored images against their references, from PANDA's distortion graph
    in reference mode (see ``engine.panda.reference``).

    Regions come from the reference. The score of an image is the area-weighted mean of the
    region scores of the restored image: each region's fidelity to the reference region
    (1 = identical pixels, exactly; lower for every visible degradation; docs/calibration.md
    says what 0.9, 0.8 and 0.6 mean). Gradients flow to the restored images, so
    ``1 - score`` is a loss. With ``return_graph`` the frozen network adds each degraded
    region's distortion type.

    With ``score='texture'`` the score of an image is the area-weighted mean of the region
    texture scores instead (``engine.texture``: how well each region's texture statistics
    match the reference's, tolerant of resampled detail; lower for lost or invented texture).

    Args:
        weights: Shipped weights name or a weights file. Default: ``'panda-tiny'``
            (``$PANDA_WEIGHTS`` overrides it).
        segmenter: Region proposer spec (see ``regions.build_segmenter``). Default:
            ``'superpixel'``.
        pretrained_model_path: pyiqa's name for ``weights`` (``create_metric('panda',
            pretrained_model_path=PATH)``); give one of the two.
        score: ``'fidelity'`` (default) or ``'texture'``: which region score the image score
            averages.
    """

    SCORES = ('fidelity', 'texture')

    def __init__(self, weights: str | os.PathLike = DEFAULT_WEIGHTS, segmenter='superpixel',
                 pretrained_model_path: str | os.PathLike | None = None, score: str = 'fidelity'):
        super().__init__()
        if score not in self.SCORES:
            raise PandaInputError(f'score {score!r}; accepted: {", ".join(self.SCORES)}')
        self.score = score
        if pretrained_model_path is not None:
            if os.fspath(weights) != DEFAULT_WEIGHTS:
                raise PandaInputError(f'weights {os.fspath(weights)!r} and pretrained_model_path '
                                      f'{os.fspath(pretrained_model_path)!r} both given; accepted: one of them')
            weights = pretrained_model_path
        self.network = load_model(weights)
        self.network.requires_grad_(False)
        self.segmenter = build_segmenter(segmenter)
        self._register_load_state_dict_pre_hook(_bare_network_keys)

    def to(self, *args, **kwargs):
        """``nn.Module.to``, refusing a device this machine does not have with a
        ``PandaInputError`` (pyiqa's ``create_metric('panda', device='cuda')`` calls it)."""
        for value in (*args, kwargs.get('device')):
            if torch.is_tensor(value):
                value = value.device
            if isinstance(value, int) and not isinstance(value, bool):
                value = f'cuda:{value}'
            if isinstance(value, (str, torch.device)):
                check_device(value)
        return super().to(*args, **kwargs)

    def cuda(self, device=None):
        """``nn.Module.cuda``, refusing CUDA where there is none with a ``PandaInputError``."""
        check_device(f'cuda:{device}' if isinstance(device, int) else device or 'cuda')
        return super().cuda(device)

    def load_weights(self, path: str | os.PathLike) -> None:
        """Replace the network by the weights of a file (pyiqa: ``metric.net.load_weights``).

        Args:
            path: A ``.safetensors`` file written by ``panda export-weights`` or a BasicSR
                ``.pth`` checkpoint (read with ``weights_only=True``, never unpickled) of a
                network with the current one's arch options.
        """
        device = next(self.network.parameters()).device
        config = getattr(self.network, 'panda_config', None)
        self.network = load_model(path, device, config=config).requires_grad_(False)

    def forward(self, restored: torch.Tensor, reference: torch.Tensor, return_graph: bool = False,
                spatial: bool = False):
        """Score a batch.

        Args:
            restored: Bx3xHxW (or Bx1xHxW) images in [0, 1].
            reference: Images of the same shape.
            return_graph: Also return the distortion graph of each pair (restored = anchor).
            spatial: Return the quality map instead of the scores: Bx1xHxW, each pixel the
                score (fidelity or texture) of its region (``spatial.score_map``), differentiable like the scores.

        Returns:
            B scores in [0, 1] (a Bx1xHxW map with ``spatial``); with ``return_graph``,
            ``(scores or map, graphs)``.
        """
        restored, reference = checked_rgb(restored, 'restored'), checked_rgb(reference, 'reference')
        if restored.shape != reference.shape:
            raise PandaInputError(f'restored images are {tuple(restored.shape)} but references are '
                                  f'{tuple(reference.shape)}; they must have the same shape')
        self.network.eval()
        # the network reads the pair while the regions are proposed (its types are for the graphs)
        pending = encode_in_background(self.network, restored.detach(), reference.detach()) if return_graph else None
        label_maps = label_maps_of(reference, self.segmenter)
        with nullcontext() if pending is None else sharing_threads() as background:
            if background is not None:
                # the graph's other measure in the background while this thread makes the score's
                # measure and runs the network's heads
                measures = dict(zip(('fidelity', 'texture'), measures_beside(
                    reference_inputs(restored, reference, label_maps), background, here=self.score)))
            elif return_graph:  # a pair too large for the background: both measures from one preparation
                measures = dict(zip(('fidelity', 'texture'), reference_measures(restored, reference, label_maps)))
            else:
                measures = {self.score: self.region_scores(restored, reference, label_maps)}
            region_scores = measures[self.score]
            if spatial:
                scores = score_map(region_scores, label_maps, restored.dtype)
            else:
                scores = image_scores(padded(region_scores), label_maps).to(restored.dtype)
            if not return_graph:
                return scores
            return scores, predict_graphs(self.network, restored, reference, label_maps, reference=True,
                                          region_scores=measures['fidelity'], region_textures=measures['texture'],
                                          encoding=pending)

    def region_scores(self, restored: torch.Tensor, reference: torch.Tensor, label_maps: torch.Tensor) -> list:
        """The region scores the metric averages (fidelity or texture, see ``score``).

        Args:
            restored: Bx3xHxW images in [0, 1].
            reference: Bx3xHxW references.
            label_maps: BxHxW label maps.

        Returns:
            One tensor of region scores per image, differentiable in ``restored``.
        """
        fidelity, texture = reference_measures(restored, reference, label_maps, fidelity=self.score == 'fidelity',
                                               texture=self.score == 'texture')
        return texture if fidelity is None else fidelity


def _bare_network_keys(state_dict, prefix, *_):
    """Let a bare PANDA state dict (a BasicSR checkpoint's ``params``) load into the metric."""
    inner = prefix + 'network.'
    if state_dict and not any(key.startswith(inner) for key in state_dict):
        for key in [key for key in state_dict if key.startswith(prefix)]:
            state_dict[inner + key[len(prefix):]] = state_dict.pop(key)


def checked_rgb(images: torch.Tensor, name: str) -> torch.Tensor:
    """Refuse anything but a finite Bx3xHxW or Bx1xHxW batch in [0, 1]; grey becomes RGB.

    Args:
        images: The batch.
        name: What to call the images in the message.

    Returns:
        The Bx3xHxW batch (a view for grey input).
    """
    if not torch.is_tensor(images) or images.dim() != 4 or images.shape[1] not in (1, 3):
        shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
        raise PandaInputError(f'{name}: {shape}; accepted: a Bx3xHxW or Bx1xHxW tensor in [0, 1]')
    if images.shape[0] == 0:
        raise PandaInputError(f'{name}: an empty batch {tuple(images.shape)}; accepted: at least one image')
    if not images.is_floating_point():
        raise PandaInputError(f'{name}: a {images.dtype} tensor; accepted: a floating-point tensor in [0, 1] '
                              '(divide 8-bit images by 255)')
    check_values(images, name)
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


#: How far outside [0, 1] image tensors may stray (rounding), in ``check_values``.
RANGE_TOLERANCE = 1e-3


def check_values(images: torch.Tensor, name: str) -> None:
    """Refuse image tensors with NaN or infinite values, outside [0, 1] (e.g. [0, 255]) or
    smaller than ``MIN_SIDE`` (one pass over the values).

    Args:
        images: Bx3xHxW or Bx1xHxW tensor.
        name: What to call the images in the message.
    """
    check_image_size(images.shape[-2], images.shape[-1], name)
    low, high = (float(value) for value in torch.aminmax(images.detach()))
    if not (math.isfinite(low) and math.isfinite(high)):  # NaN and infinities reach the extremes
        raise PandaInputError(f'{name} contains NaN or infinite values')
    if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise PandaInputError(f'{name} values span [{low:.4g}, {high:.4g}]; accepted: [0, 1] '
                              '(divide 8-bit images by 255, clamp network outputs to [0, 1])')


_METRICS: dict = {}


def shared_metric(weights=DEFAULT_WEIGHTS, segmenter='superpixel', device=None) -> PandaMetric:
    """One ``PandaMetric`` per (weights, segmenter, device), built on first use.

    Args:
        weights: Shipped weights name or weights file. Default: ``'panda-tiny'``.
        segmenter: Region proposer spec. Default: ``'superpixel'``.
        device: Torch device. Default: CUDA when available, else CPU.

    Returns:
        The metric module, in eval mode.
    """
    device = check_device(device) or torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    key = (str(weights), str(segmenter), str(device))
    if key not in _METRICS:
        _METRICS[key] = PandaMetric(weights, segmenter).to(device).eval()
    return _METRICS[key]
