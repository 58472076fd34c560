"""An exact-score image prior: a Gaussian mixture over colour patches, applied tile by tile.

Every call tiles the image into non-overlapping ``p x p`` patches at a random offset and
returns, for each patch, the exact score of the diffused patch mixture; changing the offset
at every step of the reverse diffusion hides the tile seams. Images are C x H x W in [-1, 1].
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from panda_plugin.core.atomic import atomic_path
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine import shipped
from panda_plugin.engine.dp.mixture import GaussianMixture

#: The shipped priors, fitted by ``fit_patch_gmm`` on ``bundled_images('train')``: 6x6 tiles
#: (the default) and 8x8 tiles (whose posterior is exact for x2, x4 and x8 average pooling).
SHIPPED = shipped.SHIPPED / 'dp_patch_gmm.npz'
SHIPPED_8 = SHIPPED.with_name('dp_patch_gmm8.npz')


class PatchGMMPrior:
    """Score model ``(x, abar) -> score`` for B x C x H x W images from a patch mixture.

    Args:
        mixture: A ``GaussianMixture`` over flattened C x p x p patches.
        patch: Patch side p.
        channels: C. Default 3.
        seed: Seed of the random tile offsets.
    """

    def __init__(self, mixture: GaussianMixture, patch: int, channels: int = 3, seed: int = 0):
        if mixture.dim != channels * patch * patch:
            raise PandaInputError(f'mixture of dimension {mixture.dim} does not match {channels} x {patch} x {patch} patches')
        self.mixture, self.patch, self.channels = mixture, int(patch), int(channels)
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, x: torch.Tensor, abar: float) -> torch.Tensor:
        return self.per_tile(lambda tiles: self.mixture(tiles, abar), x)

    def posterior_factor(self, degradation) -> int | None:
        """The resolution factor of a measurement whose tile posterior is exact, or None.

        Denoising (factor 1) always is; ``sr:f`` average pooling is when ``f`` divides the patch
        side (tiles are then cut on the pooling grid); blur never is (it mixes tiles).
        """
        name = getattr(degradation.operator, 'name', '')
        if name == 'noise':
            return 1
        if name == 'sr' and self.patch % degradation.operator.factor == 0:
            return degradation.operator.factor
        return None

    def posterior_score(self, y: torch.Tensor, degradation) -> 'PatchPosteriorScore':
        """The exact conditional score given ``y`` (see ``posterior_factor``)."""
        return PatchPosteriorScore(self, y, degradation)

    def per_tile(self, fn, x: torch.Tensor, *others: torch.Tensor, stride: int = 1) -> torch.Tensor:
        """Apply ``fn`` to the flattened tiles of ``x`` and fold its per-tile outputs back into
        an image.

        Args:
            fn: ``(tiles of x, *tiles of others) -> outputs`` shaped like the tiles of ``x``.
            x: B x C x H x W images.
            others: Tensors broadcastable to ``x``'s batch, at ``x``'s resolution divided by
                ``stride``; each is cut into the matching tiles of side ``p / stride``.
            stride: The random tile offset is a multiple of this (it must divide p).

        Returns:
            B x C x H x W.
        """
        b, c, h, w = x.shape
        if c != self.channels:
            raise PandaInputError(f'images with {c} channels; the patch prior takes {self.channels}')
        p = self.patch
        dy, dx = (int(v) * stride for v in torch.randint(p // stride, (2,), generator=self.generator))
        pad_h, pad_w = (-(h + dy)) % p, (-(w + dx)) % p

        def tiles(t, f=1):
            padded = F.pad(t.expand(b, -1, -1, -1), (dx // f, pad_w // f, dy // f, pad_h // f), mode='replicate')
            return padded.shape[-2:], F.unfold(padded, p // f, stride=p // f)  # (B, C p p / f^2, L)

        size, cols = tiles(x)
        count = cols.shape[-1]
        flat = [cols] + [tiles(t, stride)[1] for t in others]
        outputs = fn(*(f.transpose(1, 2).reshape(b * count, -1) for f in flat))
        folded = F.fold(outputs.reshape(b, count, -1).transpose(1, 2), size, p, stride=p)
        return folded[..., dy:dy + h, dx:dx + w]

    def save(self, path) -> Path:
        """Write the mixture as an ``.npz`` file (float32); returns the path."""
        with atomic_path(path, 'patch prior') as temporary, open(temporary, 'wb') as handle:
            np.savez_compressed(handle, weights=self.mixture.weights.float().numpy(),
                                means=self.mixture.means.float().numpy(),
                                covariances=self.mixture.covariances.float().numpy(),
                                patch=self.patch, channels=self.channels)
        path = Path(path)
        return path


class PatchPosteriorScore:
    """Exact conditional score ``grad log p_k(x | y)`` of the patch prior, per tile.

    For denoising (``y = x + noise * n``) and for average pooling on a grid that the tiles
    follow, a tile's measurement depends on that tile alone, so its posterior is again a
    Gaussian mixture (``GaussianMixture.conditioner``) and the diffused conditional score is
    closed-form, with no DPS approximation. Tiles are cut at a random offset (a multiple of the
    pooling factor) at every call, as in ``PatchGMMPrior``.

    Args:
        prior: The patch prior.
        y: The measurement, 1 x C x h x w (or one per sample) in [-1, 1].
        degradation: A ``Degradation`` for which ``prior.posterior_factor`` is not None.
    """

    def __init__(self, prior: PatchGMMPrior, y: torch.Tensor, degradation):
        self.factor = prior.posterior_factor(degradation)
        if self.factor is None:
            raise PandaInputError(f'no exact posterior of {prior.patch}x{prior.patch} patches for '
                                  f'{degradation.spec!r}; accepted: noise:SIGMA, or sr:F with F dividing {prior.patch}')
        self.prior, self.y = prior, y
        matrix = None if self.factor == 1 else pooling_matrix(prior.channels, prior.patch, self.factor)
        self.posterior = prior.mixture.conditioner(float(degradation.noise), matrix)

    def __call__(self, x: torch.Tensor, abar: float) -> torch.Tensor:
        return self.prior.per_tile(lambda tiles, y: self.posterior(y)(tiles, abar), x, self.y.to(x.dtype),
                                   stride=self.factor)


def pooling_matrix(channels: int, patch: int, factor: int) -> torch.Tensor:
    """``f x f`` average pooling of one flattened ``C x p x p`` tile (``unfold``'s order).

    Returns:
        (C (p/f)^2, C p^2) float64 matrix.
    """
    small = patch // factor
    rows = torch.arange(patch) // factor
    block = (rows[None, :] == torch.arange(small)[:, None]).double() / factor  # (p/f, p): 1-D pooling
    return torch.block_diag(*[torch.kron(block, block)] * channels)


def load_patch_prior(path=None, seed: int = 0) -> PatchGMMPrior:
    """Load a patch prior written by ``PatchGMMPrior.save`` (default: the shipped one).

    Args:
        path: ``.npz`` file, or None for ``SHIPPED``.
        seed: Seed of the tile offsets.

    Returns:
        The prior.
    """
    path = Path(path) if path else SHIPPED
    if not path.is_file():
        raise PandaInputError(f'patch prior {str(path)!r} not found; build one with '
                              'python -m benchmarks.dp.fit_patch_prior')
    data = shipped.read_weights(path)[0]
    covariances = torch.as_tensor(data['covariances'], dtype=torch.float64)
    covariances = (covariances + covariances.transpose(1, 2)) / 2
    mixture = GaussianMixture(data['weights'], data['means'], covariances)
    return PatchGMMPrior(mixture, int(data['patch']), int(data['channels']), seed)


def sample_patches(images, patch: int, count: int, seed: int = 0) -> torch.Tensor:
    """Random patches of HxWx3 uint8 images, scaled to [-1, 1], as flat rows.

    Args:
        images: Iterable of HxWx3 uint8 arrays.
        patch: Patch side.
        count: Patches per image.
        seed: Seed of the positions.

    Returns:
        (images * count, 3 * patch * patch) float64 tensor (channel-major, as ``unfold``).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for image in images:
        h, w = image.shape[:2]
        tops, lefts = rng.integers(0, h - patch + 1, count), rng.integers(0, w - patch + 1, count)
        for top, left in zip(tops, lefts):
            rows.append(image[top:top + patch, left:left + patch].transpose(2, 0, 1).reshape(-1))
    return torch.as_tensor(np.stack(rows), dtype=torch.float64) / 127.5 - 1


def fit_patch_gmm(patches: torch.Tensor, components: int = 24, iterations: int = 30,
                  seed: int = 0, floor: float = 1e-4) -> GaussianMixture:
    """Fit a full-covariance Gaussian mixture by expectation-maximisation.

    Args:
        patches: (N, D) float64 rows.
        components: K.
        iterations: EM iterations.
        seed: Seed of the initial means (K random rows).
        floor: Added to every covariance diagonal (keeps them positive definite).

    Returns:
        The fitted mixture.
    """
    n, d = patches.shape
    if n < components * 4:
        raise PandaInputError(f'{n} patches for {components} components; accepted: at least {components * 4}')
    g = torch.Generator().manual_seed(seed)
    means = patches[torch.randperm(n, generator=g)[:components]].clone()
    cov = torch.cov(patches.T) + floor * torch.eye(d, dtype=torch.float64)
    covs = cov.repeat(components, 1, 1)
    weights = torch.full((components,), 1.0 / components, dtype=torch.float64)
    for _ in range(iterations):
        log_p = torch.empty(n, components, dtype=torch.float64)
        for k in range(components):
            chol = torch.linalg.cholesky(covs[k])
            z = torch.linalg.solve_triangular(chol, (patches - means[k]).T, upper=False)
            log_p[:, k] = (weights[k].log() - 0.5 * (z ** 2).sum(0) - chol.diagonal().log().sum()
                           - 0.5 * d * math.log(2 * math.pi))
        resp = torch.softmax(log_p, 1)
        mass = resp.sum(0) + 1e-10
        weights = mass / n
        means = (resp.T @ patches) / mass[:, None]
        for k in range(components):
            centred = patches - means[k]
            covs[k] = (resp[:, k, None] * centred).T @ centred / mass[k] + floor * torch.eye(d, dtype=torch.float64)
    return GaussianMixture(weights, means, covs)
