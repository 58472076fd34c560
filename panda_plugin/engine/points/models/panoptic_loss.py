"""``PanopticEmbeddingLoss``: trains ``PanopticSegmenterNet`` on pseudo-instances.

Discriminative embedding loss (De Brabandere et al. 2017) on the pseudo-label instances of
each image: a pull term (pixels farther than ``var_margin`` from their instance's mean
embedding), a push term (instance means closer than ``2 * dist_margin``) and a small pull of
the means toward the origin; plus a class-balanced binary cross-entropy on the borders between
pseudo-instances.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def instance_borders(labels: torch.Tensor) -> torch.Tensor:
    """Pixels with a 4-neighbour of another instance.

    Args:
        labels: BxHxW int64 instance ids.

    Returns:
        BxHxW bool.
    """
    border = torch.zeros_like(labels, dtype=torch.bool)
    across = labels[:, :, 1:] != labels[:, :, :-1]
    down = labels[:, 1:] != labels[:, :-1]
    border[:, :, 1:] |= across
    border[:, :, :-1] |= across
    border[:, 1:] |= down
    border[:, :-1] |= down
    return border


class PanopticEmbeddingLoss(nn.Module):
    """Pull, push, regularisation and boundary terms.

    Args:
        var_margin: Pixels within this distance of their mean are not pulled. Default: 0.5.
        dist_margin: Means are pushed apart until ``2 * dist_margin``. Default: 1.5.
        reg_weight: Weight of the pull of means toward the origin. Default: 0.001.
        boundary_weight: Weight of the boundary cross-entropy. Default: 1.0.
    """

    def __init__(self, var_margin: float = 0.5, dist_margin: float = 1.5, reg_weight: float = 0.001,
                 boundary_weight: float = 1.0):
        super().__init__()
        self.var_margin, self.dist_margin = var_margin, dist_margin
        self.reg_weight, self.boundary_weight = reg_weight, boundary_weight

    def forward(self, embeddings: torch.Tensor, boundary: torch.Tensor, labels: torch.Tensor):
        """The loss of one batch.

        Args:
            embeddings: BxExHxW.
            boundary: Bx1xHxW logits.
            labels: BxHxW int64 pseudo-instance ids (``0..K-1`` per image).

        Returns:
            (scalar loss, dict of the detached terms ``l_pull``, ``l_push``, ``l_reg``, ``l_boundary``).
        """
        pulls, pushes, regs = [], [], []
        for embedding, label_map in zip(embeddings, labels):
            pull, push, reg = self._image_terms(embedding.flatten(1).T, label_map.flatten())
            pulls.append(pull)
            pushes.append(push)
            regs.append(reg)
        pull, push, reg = torch.stack(pulls).mean(), torch.stack(pushes).mean(), torch.stack(regs).mean()
        target = instance_borders(labels).float()
        positive = target.sum().clamp_min(1)
        weight = ((target.numel() - positive) / positive).clamp(1, 20)
        edge = F.binary_cross_entropy_with_logits(boundary[:, 0], target, pos_weight=weight)
        loss = pull + push + self.reg_weight * reg + self.boundary_weight * edge
        terms = {'l_pull': pull.detach(), 'l_push': push.detach(), 'l_reg': reg.detach(),
                 'l_boundary': edge.detach()}
        return loss, terms

    def _image_terms(self, embedding: torch.Tensor, labels: torch.Tensor):
        """Terms of one image: ``embedding`` NxE, ``labels`` N."""
        _, labels = torch.unique(labels, return_inverse=True)
        count = int(labels.max()) + 1
        sizes = torch.bincount(labels, minlength=count).clamp_min(1).to(embedding.dtype)
        means = torch.zeros(count, embedding.shape[1], dtype=embedding.dtype, device=embedding.device)
        means = means.index_add(0, labels, embedding) / sizes[:, None]
        spread = F.relu((embedding - means[labels]).norm(dim=1) - self.var_margin) ** 2
        pull = (torch.zeros_like(sizes).index_add(0, labels, spread) / sizes).mean()
        if count > 1:
            gaps = torch.cdist(means, means)
            off = ~torch.eye(count, dtype=torch.bool, device=embedding.device)
            push = (F.relu(2 * self.dist_margin - gaps[off]) ** 2).mean()
        else:
            push = embedding.sum() * 0
        return pull, push, means.norm(dim=1).mean()
