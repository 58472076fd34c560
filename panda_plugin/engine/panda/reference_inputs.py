"""The inputs of reference mode's region measures, prepared once per batch.

Fidelity (``human_fidelity``) and texture (``texture``) read the same things: both images as
one clipped float32 batch, that batch at ``fidelity.WORK_SIZE``, the label maps as integer
arrays and which regions are identical in both images. ``reference_inputs`` makes them once,
so that a caller asking for both measures (``compare``, folders, the graphs of the pyiqa
metric, monitoring) converts, resizes and compares the images once.
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np
import torch

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.panda.fidelity import identical_regions, work_size

#: Luma from RGB (ITU-R BT.601), the first channel of both measures.
LUMA = (0.299, 0.587, 0.114)


@dataclass
class ReferenceInputs:
    """A batch of restored images and references, ready for the region measures.

    Attributes:
        work: 2Bx3xhxw float32 in [0, 1] (contiguous): the B restored images, then their B
            references, at ``WORK_SIZE`` pixels on the long side at most; differentiable in the
            restored images.
        luma: The luma (``LUMA``) of the same 2B images at full resolution (2Bx1xHxW) when
            ``work`` is smaller than the images, else None.
        label_maps: B HxW int64 label maps (numpy).
        identical: B tensors of N booleans: the regions whose pixels are equal in both images.
    """

    work: torch.Tensor
    luma: torch.Tensor | None
    label_maps: list
    identical: list

    @property
    def batch(self) -> int:
        """Number of pairs B."""
        return len(self.label_maps)


def reference_inputs(restored: torch.Tensor, reference: torch.Tensor, label_maps) -> ReferenceInputs:
    """Prepare a batch for ``human_fidelity.fidelity_of`` and ``texture.texture_of``.

    Args:
        restored: Bx3xHxW images in [0, 1] (values outside are clipped; float of any width).
        reference: Bx3xHxW references.
        label_maps: B label maps (BxHxW tensor or sequence of HxW arrays) of the images' size.

    Returns:
        The prepared batch.
    """
    if restored.shape != reference.shape or restored.dim() != 4 or restored.shape[1] != 3:
        raise PandaInputError(f'restored {tuple(restored.shape)} and reference {tuple(reference.shape)}; '
                              'accepted: two Bx3xHxW batches of the same shape')
    maps = [np.asarray(m.cpu().numpy() if torch.is_tensor(m) else m, np.int64) for m in label_maps]
    if len(maps) != restored.shape[0]:
        raise PandaInputError(f'{len(maps)} label maps for {restored.shape[0]} images; accepted: one per image')
    identical = [identical_regions(restored[index], reference[index], label_map)
                 for index, label_map in enumerate(maps)]
    images = torch.cat([restored, reference]).float().clamp_(0, 1).contiguous()
    work = work_size(images)
    luma = None if work.shape == images.shape else mix(images, (LUMA,))
    return ReferenceInputs(work, luma, maps, identical)


def mix(images: torch.Tensor, rows) -> torch.Tensor:
    """Channels that are fixed linear mixtures of RGB, one per row of weights: one matrix
    product over the colour axis (on CPU several times faster than weighted sums of the colour
    planes, the same values up to float rounding; a 1x1 convolution is as fast on one thread but many times
    slower on two).

    Args:
        images: Bx3xHxW.
        rows: Weight triples.

    Returns:
        BxKxHxW, K the number of rows.
    """
    weights = torch.tensor(rows, dtype=images.dtype, device=images.device)
    return (weights @ images.flatten(2)).unflatten(2, images.shape[-2:])
