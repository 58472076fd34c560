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


@dataclass
class ReferenceInputs:
    """A batch of restored images and references, ready for the region measures.

    Attributes:
        images: 2Bx3xHxW float32 in [0, 1] (contiguous): the B restored images, then their B
            references; differentiable in the restored images.
        work: ``images`` at ``WORK_SIZE`` pixels on the long side at most (``images`` itself
            when it is that small).
        label_maps: B HxW int64 label maps (numpy).
        identical: B tensors of N booleans: the regions whose pixels are equal in both images.
    """

    images: torch.Tensor
    work: torch.Tensor
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
    images = torch.cat([restored, reference]).float().clamp_(0, 1).contiguous()
    identical = [identical_regions(restored[index], reference[index], label_map)
                 for index, label_map in enumerate(maps)]
    return ReferenceInputs(images, work_size(images), maps, identical)
