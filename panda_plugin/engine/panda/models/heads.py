"""Prediction heads: relation, distortion, severity and score."""
from __future__ import annotations

import torch
from torch import nn

from panda_plugin.core.region_labels import SIDES, RegionLabels, label_field
from panda_plugin.core.taxonomy import DISTORTIONS, RELATIONS, SEVERITIES, invert_relation

# Class order of the relations seen from the other image (worse <-> better).
_MIRRORED = [RELATIONS.index(invert_relation(name)) for name in RELATIONS]


def mlp(dim_in: int, dim_out: int, width: int) -> nn.Sequential:
    """Three-layer MLP (width -> width/2 -> out) with LayerNorm and GELU.

    Args:
        dim_in: Input width.
        dim_out: Output width.
        width: Hidden width.

    Returns:
        The module.
    """
    return nn.Sequential(nn.Linear(dim_in, width), nn.LayerNorm(width), nn.GELU(),
                         nn.Linear(width, width // 2), nn.LayerNorm(width // 2), nn.GELU(),
                         nn.Linear(width // 2, dim_out))


class PandaHeads(nn.Module):
    """The four heads. Distortion, severity and score are shared by both images; the relation
    head sees both tokens and their difference and is made antisymmetric, so swapping anchor
    and target mirrors the relation prediction exactly.

    Args:
        dim: Token width.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.relation = mlp(3 * dim, len(RELATIONS), dim)
        self.distortion = mlp(dim, len(DISTORTIONS), dim)
        self.severity = mlp(dim, len(SEVERITIES), dim)
        self.score = mlp(dim, 1, dim)
        self.register_buffer('mirrored', torch.tensor(_MIRRORED), persistent=False)

    def forward(self, anchor: torch.Tensor, target: torch.Tensor) -> dict:
        """Predict all labels.

        Args:
            anchor: BxRxD anchor region tokens.
            target: BxRxD target region tokens.

        Returns:
            Dict keyed by ``region_labels.LABEL_FIELDS``: logits of the relation (BxRx5),
            distortion (BxRx15) and severity (BxRx4) and scores (BxR, in [0, 1]).
        """
        # both directions, and both images, as one batch for each head
        both, swapped = torch.cat([anchor, target]), torch.cat([target, anchor])
        forward, backward = self.relation(torch.cat([both, swapped, both - swapped], -1)).chunk(2)
        out = {'relation': 0.5 * (forward + backward[..., self.mirrored])}
        outputs = {'distortion': self.distortion(both), 'severity': self.severity(both),
                   'score': torch.sigmoid(self.score(both).squeeze(-1))}
        for name, value in outputs.items():
            for side, half in zip(SIDES, value.chunk(2)):
                out[label_field(side, name)] = half
        return out


def decode(outputs: dict) -> RegionLabels:
    """Class ids and scores from PANDA outputs.

    Severity is ``clean`` exactly when the distortion is; otherwise the most likely of
    minor/moderate/severe.

    Args:
        outputs: ``PandaHeads`` outputs.

    Returns:
        The labels as tensors (class ids int64), one value per region slot.
    """
    result = {'relation': outputs['relation'].argmax(-1)}
    for side in SIDES:
        distortion = outputs[label_field(side, 'distortion')].argmax(-1)
        severity = outputs[label_field(side, 'severity')][..., 1:].argmax(-1) + 1
        result[label_field(side, 'distortion')] = distortion
        result[label_field(side, 'severity')] = torch.where(distortion == 0, torch.zeros_like(severity), severity)
        result[label_field(side, 'score')] = outputs[label_field(side, 'score')].clamp(0, 1)
    return RegionLabels.from_fields(result)
