"""Exact Gaussian-mixture priors: closed-form diffused scores, samples and posteriors."""
from __future__ import annotations

import math

import torch

from panda_plugin.core.errors import PandaInputError


class GaussianMixture:
    """A Gaussian mixture in D dimensions whose diffused scores are exact.

    At level ``abar`` the diffused density is the mixture with means ``sqrt(abar) m_j`` and
    covariances ``abar C_j + (1 - abar) I``, so its score is closed-form. Weights and means
    may carry a leading batch axis (one mixture per sample, as posteriors given different
    measurements do); covariances are shared.

    Args:
        weights: (K,) or (B, K) non-negative weights (normalised here).
        means: (K, D) or (B, K, D).
        covariances: (K, D, D) symmetric positive definite.
        eigen: Their eigenvalues and eigenvectors, when already known (``torch.linalg.eigh``).
    """

    def __init__(self, weights, means, covariances, eigen: tuple | None = None):
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.means = torch.as_tensor(means, dtype=torch.float64)
        self.covariances = torch.as_tensor(covariances, dtype=torch.float64)
        k, d = self.means.shape[-2:]
        if self.weights.shape[-1] != k or self.covariances.shape != (k, d, d):
            raise PandaInputError(f'mixture shapes weights {tuple(self.weights.shape)}, means '
                                  f'{tuple(self.means.shape)}, covariances {tuple(self.covariances.shape)}; '
                                  'accepted: (K,), (K, D), (K, D, D) with optional batch axes')
        if (self.weights < 0).any() or not (self.weights.sum(-1) > 0).all():
            raise PandaInputError('mixture weights must be non-negative and not all zero')
        self.weights = self.weights / self.weights.sum(-1, keepdim=True)
        self.eigenvalues, self.eigenvectors = eigen if eigen is not None else torch.linalg.eigh(self.covariances)
        if not (self.eigenvalues > 0).all():
            raise PandaInputError('mixture covariances must be positive definite')

    @property
    def dim(self) -> int:
        """The dimension D."""
        return int(self.means.shape[-1])

    def __call__(self, x: torch.Tensor, abar: float) -> torch.Tensor:
        """The exact score of the diffused mixture at ``x`` (B, D), level ``abar``."""
        abar = float(abar)
        dtype = x.dtype
        x = x.to(torch.float64)
        weights, means, values, vectors = self._on(x.device)
        scaled = values * abar + (1 - abar)  # (K, D)
        diff = x[:, None, :] - abar ** 0.5 * means  # (B, K, D)
        proj = torch.einsum('bkd,kde->bke', diff, vectors)
        log_density = (weights.clamp_min(1e-300).log()
                       - 0.5 * ((proj ** 2 / scaled).sum(-1) + scaled.log().sum(-1)))
        resp = torch.softmax(log_density, dim=-1)  # (B, K)
        scores = -torch.einsum('bke,kde->bkd', proj / scaled, vectors)
        return (resp[..., None] * scores).sum(1).to(dtype)

    def _on(self, device) -> tuple:
        """Weights, means, eigenvalues and eigenvectors on ``device`` (copied once)."""
        if getattr(self, '_device', None) != device:
            self._device = device
            self._cached = tuple(t.to(device) for t in (self.weights, self.means, self.eigenvalues, self.eigenvectors))
        return self._cached

    def mean(self) -> torch.Tensor:
        """The mixture mean, (D,) or (B, D)."""
        return (self.weights[..., None] * self.means).sum(-2)

    def covariance(self) -> torch.Tensor:
        """The mixture covariance, (D, D) or (B, D, D)."""
        mean = self.mean()
        centred = self.means - mean[..., None, :]
        second = self.covariances + centred[..., :, None] * centred[..., None, :]
        return (self.weights[..., None, None] * second).sum(-3)

    def sample(self, count: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw samples: ``count`` of them, or one per batch mixture when ``count`` is None.

        Args:
            count: Number of samples for an unbatched mixture.
            generator: Random generator.

        Returns:
            (count or B, D) float64 samples.
        """
        batched = self.weights.dim() == 2
        n = self.weights.shape[0] if batched else int(count)
        probs = self.weights if batched else self.weights.expand(n, -1)
        comp = torch.multinomial(probs, 1, generator=generator)[:, 0]
        means = self.means[torch.arange(n), comp] if batched else self.means[comp]
        z = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        root = self.eigenvectors[comp] * self.eigenvalues[comp].sqrt()[:, None, :]
        return means + torch.einsum('nde,ne->nd', root, z)

    def posterior(self, y: torch.Tensor, noise: float, matrix: torch.Tensor | None = None) -> 'GaussianMixture':
        """The exact posterior given ``y = A x + noise * n`` (one mixture per row of ``y``).

        Args:
            y: (B, M) measurements.
            noise: Measurement noise standard deviation (> 0).
            matrix: (M, D) matrix A (default identity).

        Returns:
            The batched posterior mixture.
        """
        return self.conditioner(noise, matrix)(y)

    def conditioner(self, noise: float, matrix: torch.Tensor | None = None):
        """``y -> posterior mixture`` for ``y = A x + noise * n``; everything that does not
        depend on ``y`` (posterior covariances and their eigenvectors, the evidence covariances)
        is computed once here.

        Args:
            noise: Measurement noise standard deviation (> 0).
            matrix: (M, D) matrix A (default identity).

        Returns:
            A callable taking (B, M) measurements and returning the batched posterior.
        """
        if self.weights.dim() != 1:
            raise PandaInputError('posterior of an already batched mixture is not supported')
        if not noise > 0:
            raise PandaInputError(f'measurement noise {noise!r}; accepted: a number > 0')
        a = torch.eye(self.dim, dtype=torch.float64) if matrix is None else torch.as_tensor(matrix, dtype=torch.float64)
        prior_precision = torch.linalg.inv(self.covariances)
        post_cov = torch.linalg.inv(prior_precision + a.T @ a / noise ** 2)  # (K, D, D)
        post_cov = (post_cov + post_cov.transpose(-1, -2)) / 2
        eigen = torch.linalg.eigh(post_cov)
        prior_term = torch.einsum('kde,ke->kd', prior_precision, self.means)
        evidence_cov = a @ self.covariances @ a.T + noise ** 2 * torch.eye(a.shape[0], dtype=torch.float64)
        evidence_precision = torch.linalg.inv(evidence_cov)  # (K, M, M)
        log_norm = (self.weights.log() - 0.5 * torch.logdet(evidence_cov)
                    - 0.5 * a.shape[0] * math.log(2 * math.pi))
        predicted = self.means @ a.T  # (K, M)

        def posterior(y: torch.Tensor) -> GaussianMixture:
            y = torch.as_tensor(y, dtype=torch.float64)
            info = prior_term[None] + (y @ a / noise ** 2)[:, None, :]  # (B, K, D)
            post_means = torch.einsum('kde,bke->bkd', post_cov, info)
            diff = y[:, None, :] - predicted  # (B, K, M)
            mahalanobis = torch.einsum('bkm,kmn,bkn->bk', diff, evidence_precision, diff)
            return GaussianMixture(torch.softmax(log_norm - 0.5 * mahalanobis, -1), post_means, post_cov, eigen)

        return posterior


def ring_mixture(count: int = 8, radius: float = 2.0, std: float = 0.1) -> GaussianMixture:
    """``count`` equal isotropic Gaussians on a circle (the 2-D mixture of docs/record/dp/toy2d.md).

    Args:
        count: Number of components.
        radius: Circle radius.
        std: Standard deviation of each component.

    Returns:
        The mixture.
    """
    angles = torch.arange(count, dtype=torch.float64) * 2 * math.pi / count
    means = radius * torch.stack([angles.cos(), angles.sin()], 1)
    return GaussianMixture(torch.ones(count), means, std ** 2 * torch.eye(2, dtype=torch.float64).repeat(count, 1, 1))
