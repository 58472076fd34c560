"""Choosing the image prior of the sampler by name: the shipped patch mixtures, or a prior added
with ``register_prior`` (a learned score network, say)."""
from __future__ import annotations

from collections.abc import Callable

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.dp.patch_prior import SHIPPED_8, load_patch_prior

#: The prior used when none is named.
DEFAULT_PRIOR = 'gmm'
#: What ``load_prior`` accepts besides the registered priors, for messages.
ACCEPTED = 'gmm, gmm8, gmm:PATH.npz, PATH.npz'
#: Priors added with ``register_prior``: kind -> (loader, how the spec is written).
_KINDS: dict[str, tuple[Callable, str]] = {}


def register_prior(kind: str, loader: Callable, forms: str) -> None:
    """Add a prior spec, ``kind`` or ``kind:PATH``, to ``load_prior``.

    Args:
        kind: The spec's name; ``gmm`` and ``gmm8`` are taken.
        loader: ``loader(path or None, seed) -> score model``.
        forms: How the spec is written, for messages (e.g. ``'unet or unet:PATH'``).
    """
    if kind in ('gmm', 'gmm8') or (kind in _KINDS and _KINDS[kind][0] is not loader):
        raise PandaInputError(f'image prior {kind!r} is already registered')
    _KINDS[kind] = (loader, forms)


def load_prior(spec: str | None = None, seed: int = 0):
    """An image score model ``(x, abar) -> score`` from its name.

    Args:
        spec: ``gmm`` (the shipped 6x6 patch mixture; also None), ``gmm8`` (the shipped 8x8
            one, exact for ``sr:4``), ``gmm:PATH`` or ``PATH.npz`` (a patch mixture file), or
            a registered kind (``kind`` or ``kind:PATH``, see ``register_prior``).
        seed: Seed of the patch mixture's tile offsets (passed on to a registered loader).

    Returns:
        The score model, with its spec in ``.name``.
    """
    spec = str(spec or DEFAULT_PRIOR)
    kind, _, path = spec.partition(':')
    if spec == 'gmm8':
        prior = load_patch_prior(str(SHIPPED_8), seed)
    elif kind == 'gmm' or (kind not in _KINDS and spec.endswith('.npz')):
        prior = load_patch_prior((path if kind == 'gmm' else spec) or None, seed)
    elif kind in _KINDS:
        prior = _KINDS[kind][0](path or None, seed)
    else:
        accepted = ', '.join([ACCEPTED, *(forms for _, forms in _KINDS.values())])
        raise PandaInputError(f'image prior {spec!r}; accepted: {accepted}')
    prior.name = spec
    return prior
