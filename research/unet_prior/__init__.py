"""The learned image prior of the DP sampler: ``ScoreUNet`` trained by denoising score matching.

Importing this package adds the prior ``unet`` / ``unet:PATH`` to ``engine.dp.priors.load_prior``
and, once BasicSR is imported, ``ScoreUNet``, ``DenoisingScoreLoss``, ``ImageCropDataset`` and
``DenoisingScoreModel`` to BasicSR's registries. ``python -m research.unet_prior ARGS`` runs the
``panda`` command with them (``train``, ``dp-sweep --prior unet``).
"""
from __future__ import annotations

from pathlib import Path

from panda_plugin.adapters.import_hooks import when_imported
from panda_plugin.engine.dp.priors import register_prior


def load_unet_prior(path, seed: int = 0):
    """The ``ScoreUNet`` prior: the experiment's weights, or a ``.safetensors`` / ``net_g_*.pth`` file.

    Args:
        path: Weights file, or None for ``score_unet.SHIPPED``.
        seed: Unused (the network has no random state).

    Returns:
        The score model (``EpsScore`` of the network).
    """
    from research.unet_prior.score_unet import load_score_unet
    from panda_plugin.engine.dp.score import EpsScore

    return EpsScore(load_score_unet(Path(path) if path else None).requires_grad_(False))


def _register_basicsr() -> None:
    from research.unet_prior.crops import ImageCropDataset
    from research.unet_prior.score_matching import DenoisingScoreLoss
    from research.unet_prior.score_model import DenoisingScoreModel
    from research.unet_prior.score_unet import ScoreUNet
    from panda_plugin.adapters.basicsr.registry import register_objects

    register_objects({'arch': [ScoreUNet], 'loss': [DenoisingScoreLoss], 'dataset': [ImageCropDataset],
                      'model': [DenoisingScoreModel]})


register_prior('unet', load_unet_prior, 'unet, unet:PATH.safetensors or unet:PATH.pth')
when_imported('basicsr', _register_basicsr)
