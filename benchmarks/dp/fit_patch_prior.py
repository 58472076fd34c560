"""Fit the shipped patch prior of ``panda dp-sweep`` on the bundled training images.

Run: ``python -m benchmarks.dp.fit_patch_prior`` (about a minute on 2 cores); writes
``panda_plugin/weights/dp_patch_gmm.npz`` and prints the held-out log-likelihood.
"""
from __future__ import annotations

import argparse
import time

import torch

from panda_plugin.engine.data.bundled import bundled_images
from panda_plugin.engine.dp.patch_prior import SHIPPED, PatchGMMPrior, fit_patch_gmm, sample_patches


def held_out_log_likelihood(mixture, patches) -> float:
    """Mean log-density per dimension of patches under the (undiffused) mixture."""
    chunk = []
    for k in range(len(mixture.weights)):
        cov = mixture.covariances[k]
        dist = torch.distributions.MultivariateNormal(mixture.means[k], covariance_matrix=cov)
        chunk.append(mixture.weights[k].log() + dist.log_prob(patches))
    return float(torch.logsumexp(torch.stack(chunk, 1), 1).mean() / patches.shape[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--patch', type=int, default=6)
    parser.add_argument('--components', type=int, default=24)
    parser.add_argument('--per-image', type=int, default=400)
    parser.add_argument('--iterations', type=int, default=20)
    parser.add_argument('--floor', type=float, default=1e-4,
                        help='added to every covariance diagonal ([-1, 1] units squared)')
    parser.add_argument('--out', default=str(SHIPPED))
    args = parser.parse_args()
    start = time.perf_counter()
    train = [image for _, image in bundled_images('train')]
    bench = [image for _, image in bundled_images('bench')]
    patches = sample_patches(train, args.patch, args.per_image, seed=0)
    mixture = fit_patch_gmm(patches, args.components, args.iterations, floor=args.floor)
    seconds = time.perf_counter() - start
    path = PatchGMMPrior(mixture, args.patch).save(args.out)
    held_out = sample_patches(bench, args.patch, 500, seed=1)
    print(f'fitted {args.components} components on {len(patches)} {args.patch}x{args.patch} patches '
          f'in {seconds:.0f} s; held-out log-likelihood {held_out_log_likelihood(mixture, held_out):.3f} '
          f'nats per dimension; wrote {path} ({path.stat().st_size / 2**20:.2f} MiB)')


if __name__ == '__main__':
    main()
