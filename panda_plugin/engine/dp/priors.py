"""Choosing the image prior of the sampler by name: the patch mixture or the score UNet."""
from __future__ import annotations

from pathlib import Path

from panda_plugin.core.errors import PandaInputError

#: The prior used when none is named.
DEFAULT_PRIOR = 'gmm'
#: What ``load_prior`` accepts, for messages.
ACCEPTED = 'gmm, gmm8, gmm:PATH.npz, PATH.npz, unet, unet:PATH.safetensors or unet:PATH.pth'


def load_prior(spec: str | None = None, seed: int = 0):
    """An image score model ``(x, abar) -> score`` from its name.

    Args:
        spec: ``gmm`` (the shipped 6x6 patch mixture; also None), ``gmm8`` (the shipped 8x8
            one, exact for ``sr:4``), ``gmm:PATH`` or ``PATH.npz`` (a patch mixture file),
            ``unet`` (the shipped ``ScoreUNet``) or ``unet:PATH`` (its safetensors export or a
            BasicSR ``net_g_*.pth`` checkpoint of the shipped arch options).
        seed: Seed of the patch mixture's tile offsets (the UNet has none).

    Returns:
        The score model, with its spec in ``.name``.
    """
    spec = str(spec or DEFAULT_PRIOR)
    kind, _, path = spec.partition(':')
    if spec == 'gmm8':
        from panda_plugin.engine.dp.patch_prior import SHIPPED_8

        kind, path = 'gmm', str(SHIPPED_8)
    if kind not in ('gmm', 'unet'):
        if spec.endswith('.npz'):
            kind, path = 'gmm', spec
        else:
            raise PandaInputError(f'image prior {spec!r}; accepted: {ACCEPTED}')
    if kind == 'gmm':
        from panda_plugin.engine.dp.patch_prior import load_patch_prior

        prior = load_patch_prior(path or None, seed)
    else:
        from panda_plugin.engine.dp.score import EpsScore
        from panda_plugin.engine.dp.score_unet import load_score_unet

        prior = EpsScore(load_score_unet(Path(path) if path else None).requires_grad_(False))
    prior.name = spec
    return prior
