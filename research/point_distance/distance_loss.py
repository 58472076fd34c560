"""``PointDistanceLoss``: trains ``PointDistanceNet`` from the clicks alone.

Two terms, averaged over the distance maps of every round:

* **point term** (the only use of labels): at each clicked pixel, the distances to all queries
  of its image, negated, are logits of a cross-entropy whose target is the clicked query, so a
  click must be nearer its own query than any other. Only the clicked pixels enter; the rest of
  the ground truth is never read.
* **colour term** (no labels, as BoxInst's pairwise loss): neighbouring pixels (8 directions,
  2 pixels apart, each pair once) of nearly the same Lab colour (similarity ``exp(-|dLab| / 2)`` above
  ``threshold``) should join the same query: ``-log sum_k P_k(p) P_k(q)`` with ``P`` the softmax
  over queries of minus the distances.

An optional third term, **pseudo term** (``pseudo_weight``), is a cross-entropy of every pixel
(minus the distances as logits) against a pseudo-label map drawn from the same clicks and image
by a click method (``panda make-pseudo-labels``, geodesic by default); pixels marked -1 are
ignored. It needs no dense ground truth either.
"""
from __future__ import annotations

import torch
from torch import nn

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.colour import rgb_to_lab

#: Neighbour offsets (dy, dx); each unordered pair of pixels 2 apart in 8 directions once.
_OFFSETS = [(2, -2), (2, 0), (2, 2), (0, 2)]


def colour_affinity(images: torch.Tensor, threshold: float = 0.3) -> list:
    """Which neighbour pairs have nearly the same colour.

    Args:
        images: Bx3xHxW in [0, 1].
        threshold: Smallest similarity ``exp(-|dLab| / 2)`` of a pair that counts.

    Returns:
        One bool tensor per offset of ``_OFFSETS``: pair (p, p + offset) counts, over the
        pixels p whose neighbour lies inside (see ``_pairs``).
    """
    lab = rgb_to_lab(images, 'skimage')
    planes = []
    for dy, dx in _OFFSETS:
        first, second = _pairs(lab, dy, dx)
        planes.append(torch.exp(-(first - second).norm(dim=1) / 2) > threshold)
    return planes


def _pairs(tensor: torch.Tensor, dy: int, dx: int) -> tuple:
    """Views of p and p + (dy, dx) over the pixels whose neighbour is inside (dy >= 0)."""
    height, width = tensor.shape[-2:]
    left, right = max(0, -dx), width - max(0, dx)
    first = tensor[..., :height - dy, left:right]
    second = tensor[..., dy:, left + dx:right + dx]
    return first, second


class PointDistanceLoss(nn.Module):
    """Point and colour terms (see the module docstring).

    Args:
        point_weight: Weight of the point term. Default: 1.
        colour_weight: Weight of the colour term. Default: 1.
        threshold: Colour similarity above which a pair counts. Default: 0.3.
        pseudo_weight: Weight of the pseudo term (needs ``pseudo`` in ``forward``). Default: 0.
    """

    def __init__(self, point_weight: float = 1.0, colour_weight: float = 1.0, threshold: float = 0.3,
                 pseudo_weight: float = 0.0):
        super().__init__()
        self.point_weight, self.colour_weight, self.threshold = point_weight, colour_weight, threshold
        self.pseudo_weight = pseudo_weight

    def forward(self, outputs: list, images: torch.Tensor, points: torch.Tensor,
                valid: torch.Tensor, pseudo: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Loss of one batch.

        Args:
            outputs: ``PointDistanceNet`` outputs (list of BxKxHxW distances).
            images: Bx3xHxW images in [0, 1] (the network's input).
            points: BxKx2 (x, y) clicks, in pixels of ``images``.
            valid: BxK bool, False for padding clicks.
            pseudo: BxHxW int64 click indices drawn from the clicks (-1: ignored); read only
                when ``pseudo_weight`` is set.

        Returns:
            (total loss, ``{'l_point': .., 'l_colour': ..}``, plus ``'l_pseudo'`` with
            ``pseudo_weight``).
        """
        if self.pseudo_weight and pseudo is None:
            raise PandaInputError('PointDistanceLoss with pseudo_weight needs pseudo-labels: set '
                                  'datasets.train.pseudo_labels to a file of `panda make-pseudo-labels`')
        batch, count = valid.shape
        x = points[..., 0].round().long().clamp(0, images.shape[-1] - 1)
        y = points[..., 1].round().long().clamp(0, images.shape[-2] - 1)
        affinity = colour_affinity(images, self.threshold) if self.colour_weight else None
        point_terms, colour_terms = [], []
        for distances in outputs:
            index = torch.arange(batch, device=images.device)[:, None].expand(batch, count)
            at_clicks = distances[index, :, y, x]  # BxK(clicked pixel)xK(query)
            logits = (-at_clicks)[valid]
            target = torch.arange(count, device=images.device).expand(batch, count)[valid]
            point_terms.append(nn.functional.cross_entropy(logits, target))
            if affinity is not None:
                colour_terms.append(self._colour(distances, affinity))
        point = torch.stack(point_terms).mean()
        colour = torch.stack(colour_terms).mean() if colour_terms else point.new_zeros(())
        total = self.point_weight * point + self.colour_weight * colour
        terms = {'l_point': point.detach(), 'l_colour': colour.detach()}
        if self.pseudo_weight:
            dense = torch.stack([nn.functional.cross_entropy(-distances, pseudo, ignore_index=-1)
                                 for distances in outputs]).mean()
            total = total + self.pseudo_weight * dense
            terms['l_pseudo'] = dense.detach()
        return total, terms

    @staticmethod
    def _colour(distances: torch.Tensor, affinity: torch.Tensor) -> torch.Tensor:
        probabilities = torch.softmax(-distances, 1)
        terms, weights = [], []
        for plane, (dy, dx) in enumerate(_OFFSETS):
            first, second = _pairs(probabilities, dy, dx)
            agree = (first * second).sum(1).clamp_min(1e-6)
            mask = affinity[plane].float()
            terms.append(-(agree.log() * mask).sum())
            weights.append(mask.sum())
        return torch.stack(terms).sum() / torch.stack(weights).sum().clamp_min(1.0)
