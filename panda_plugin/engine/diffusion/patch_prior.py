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

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.diffusion.mixture import GaussianMixture

#: The shipped prior: fitted by ``fit_patch_gmm`` on ``bundled_images('train')``.
SHIPPED = Path(__file__).resolve().parents[2] / 'weights' / 'dp_patch_gmm.npz'


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
        b, c, h, w = x.shape
        if c != self.channels:
            raise PandaInputError(f'images with {c} channels; the patch prior takes {self.channels}')
        p = self.patch
        dy, dx = (int(v) for v in torch.randint(p, (2,), generator=self.generator))
        pad_h, pad_w = (-(h + dy)) % p, (-(w + dx)) % p
        padded = F.pad(x, (dx, pad_w, dy, pad_h), mode='replicate')
        cols = F.unfold(padded, p, stride=p)  # (B, C p p, L)
        count = cols.shape[-1]
        flat = cols.transpose(1, 2).reshape(-1, c * p * p)
        scores = self.mixture(flat, abar).reshape(b, count, -1).transpose(1, 2)
        folded = F.fold(scores, padded.shape[-2:], p, stride=p)
        return folded[..., dy:dy + h, dx:dx + w]

    def save(self, path) -> Path:
        """Write the mixture as an ``.npz`` file (float32); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, weights=self.mixture.weights.float().numpy(),
                            means=self.mixture.means.float().numpy(),
                            covariances=self.mixture.covariances.float().numpy(),
                            patch=self.patch, channels=self.channels)
        return path


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
                              'python benchmarks/fit_patch_prior.py')
    data = np.load(path)
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
