"""The 2-D distortion-perception experiments of docs/record/dp/toy2d.md (mixture and pinwheel).

Run: ``python -m benchmarks.dp.dp_toy2d --out docs/results/dp`` (one CPU thread, about 2-4 minutes).
Writes ``docs/results/dp/dp_toy2d.json`` and the figures ``docs/results/dp/images/dp_toy2d_*.png``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks.dp.toy2d import pinwheel, train_score_mlp
from panda_plugin.engine.dp.guidance import DPSScore
from panda_plugin.engine.dp.measures import wasserstein2
from panda_plugin.engine.dp.mixture import GaussianMixture, ring_mixture
from panda_plugin.engine.dp.sampler import reverse_diffusion
from panda_plugin.engine.dp.schedule import vp_schedule
from panda_plugin.engine.dp.score import EpsScore

LAMBDAS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
AVERAGES = (1, 2, 4, 8, 16, 32, 64)


def mse(a, b) -> float:
    return float(((a - b) ** 2).sum(1).mean())


def run(score, count, schedule, lam, seed, deterministic=False, dtype=torch.float64, record_every=0):
    g = torch.Generator().manual_seed(seed)
    start = torch.randn(count, 2, generator=g, dtype=dtype)
    return reverse_diffusion(score, start, schedule, lam, generator=g, deterministic=deterministic,
                             record_every=record_every)


def mixture_experiment(pairs: int, steps: int, noise: float) -> dict:
    prior = ring_mixture(8, 2.0, 0.2)
    g = torch.Generator().manual_seed(0)
    x = prior.sample(pairs, g)
    y = x + noise * torch.randn(x.shape, generator=g, dtype=torch.float64)
    post = prior.posterior(y, noise)
    schedule = vp_schedule(steps)
    mmse = mse(post.mean(), x)
    reference = prior.sample(pairs, g)
    fixed = torch.tensor([[1.0, 0.2], [0.0, 0.0], [-1.5, 1.5], [0.3, -2.2]], dtype=torch.float64)
    fixed_post = prior.posterior(fixed, noise)
    rows = []
    for lam in LAMBDAS + ('ddim',):
        det = lam == 'ddim'
        start = time.perf_counter()
        out = run(post, pairs, schedule, 0.0 if det else lam, 1, det).x0
        seconds = time.perf_counter() - start
        w2_post = []
        for i in range(len(fixed)):
            one = GaussianMixture(fixed_post.weights[i], fixed_post.means[i], fixed_post.covariances)
            samples = run(one, 1000, schedule, 0.0 if det else lam, 10 + i, det).x0
            w2_post.append(wasserstein2(samples, one.sample(1000, g)))
        rows.append({'lambda': lam, 'mse': mse(out, x), 'w2_posterior': sum(w2_post) / len(w2_post),
                     'w2_prior': wasserstein2(out, reference), 'seconds': seconds})
    averaging = []
    for n in AVERAGES:
        draws = torch.stack([post.sample(None, g) for _ in range(n)]).mean(0)
        w2_post = []
        for i in range(len(fixed)):
            one = GaussianMixture(fixed_post.weights[i], fixed_post.means[i], fixed_post.covariances)
            avg = torch.stack([one.sample(1000, g) for _ in range(n)]).mean(0)
            w2_post.append(wasserstein2(avg, one.sample(1000, g)))
        averaging.append({'n': n, 'mse': mse(draws, x), 'w2_posterior': sum(w2_post) / len(w2_post),
                          'w2_prior': wasserstein2(draws, reference)})
    trajectories = {lam: run(GaussianMixture(fixed_post.weights[0], fixed_post.means[0], fixed_post.covariances),
                             40, schedule, lam, 99, record_every=max(1, steps // 50)).trajectory
                    for lam in (0.0, 0.3, 0.8, 1.0)}
    return {'setting': {'prior': '8 Gaussians on a circle of radius 2, std 0.2', 'noise': noise,
                        'pairs': pairs, 'steps': steps, 'score': 'exact posterior score'},
            'mmse': mmse, 'sweep': rows, 'averaging': averaging, 'fixed_y': fixed.tolist()}, \
        trajectories, fixed_post


def pinwheel_experiment(pairs: int, steps: int, noise: float, train_steps: int) -> dict:
    g = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    model = train_score_mlp(pinwheel(50000, g), steps=train_steps)
    train_seconds = time.perf_counter() - start
    prior = EpsScore(model)
    x = pinwheel(pairs, g).float()
    y = x + noise * torch.randn(x.shape, generator=g)
    reference = pinwheel(pairs, g).float()
    schedule = vp_schedule(steps)
    score = DPSScore(prior, lambda v: v, y, noise)
    rows, outputs = [], {}
    for lam in LAMBDAS + ('ddim',):
        det = lam == 'ddim'
        t0 = time.perf_counter()
        out = run(score, pairs, schedule, 0.0 if det else lam, 1, det, torch.float32).x0
        rows.append({'lambda': lam, 'mse': mse(out, x), 'w2_data': wasserstein2(out, reference),
                     'seconds': time.perf_counter() - t0})
        outputs[lam] = out
    averaging, draws = [], []
    for n in (1, 2, 4, 8, 16):
        while len(draws) < n:
            draws.append(run(score, pairs, schedule, 1.0, 100 + len(draws), dtype=torch.float32).x0)
        avg = torch.stack(draws[:n]).mean(0)
        averaging.append({'n': n, 'mse': mse(avg, x), 'w2_data': wasserstein2(avg, reference)})
    return {'setting': {'data': 'pinwheel, 5 arms, scaled by 2', 'noise': noise, 'pairs': pairs,
                        'steps': steps, 'score': f'MLP trained {train_steps} steps + DPS',
                        'train_seconds': train_seconds},
            'sweep': rows, 'averaging': averaging}, outputs, x, y


def figures(mix, trajectories, fixed_post, pin, pin_outputs, pin_x, pin_y, folder: Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6), sharex=True, sharey=True)
    one = GaussianMixture(fixed_post.weights[0], fixed_post.means[0], fixed_post.covariances)
    post_samples = one.sample(2000, torch.Generator().manual_seed(5))
    for ax, (lam, traj) in zip(axes, trajectories.items()):
        path = torch.stack(traj)  # (T, N, 2)
        ax.scatter(post_samples[:, 0], post_samples[:, 1], s=1, c='0.8')
        for i in range(path.shape[1]):
            ax.plot(path[:, i, 0], path[:, i, 1], lw=0.5, alpha=0.6)
        ax.scatter(path[-1, :, 0], path[-1, :, 1], s=8, c='k', zorder=3)
        ax.scatter(*one.mean().tolist(), marker='*', s=120, c='r', zorder=4)
        ax.set_title(f'lambda = {lam}')
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
    fig.suptitle('Trajectories x_K -> x_0 given y = (1.0, 0.2); grey: true posterior, red star: MMSE')
    fig.tight_layout()
    fig.savefig(folder / 'images' / 'dp_toy2d_trajectories.png', dpi=90)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, data, key, title in ((axes[0], mix, 'w2_posterior', 'mixture: W2 to the true posterior'),
                                 (axes[1], mix, 'w2_prior', 'mixture: W2 of outputs to the prior'),
                                 (axes[2], pin, 'w2_data', 'pinwheel: W2 of outputs to the data')):
        sweep = [r for r in data['sweep'] if r['lambda'] != 'ddim']
        ax.plot([r[key] for r in sweep], [r['mse'] for r in sweep], 'o-', label='variance-scaled (lambda)')
        for r in sweep:
            ax.annotate(f"{r['lambda']}", (r[key], r['mse']), fontsize=7)
        ax.plot([r[key] for r in data['averaging']], [r['mse'] for r in data['averaging']], 's--',
                label='average of N samples')
        for r in data['averaging']:
            ax.annotate(f"N={r['n']}", (r[key], r['mse']), fontsize=7, color='C1')
        det = [r for r in data['sweep'] if r['lambda'] == 'ddim'][0]
        ax.plot(det[key], det['mse'], 'k^', label='deterministic (DDIM)')
        if 'mmse' in data:
            ax.axhline(data['mmse'], c='g', ls=':', label='MMSE')
            ax.axhline(2 * data['mmse'], c='g', ls='-.', lw=0.7, label='2 x MMSE')
        ax.set_xlabel('perception: ' + key.replace('_', ' '))
        ax.set_ylabel('distortion: MSE')
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / 'images' / 'dp_toy2d_curves.png', dpi=90)
    plt.close(fig)

    fig, axes = plt.subplots(1, 6, figsize=(18, 3.2), sharex=True, sharey=True)
    panels = [('clean x', pin_x), ('noisy y', pin_y)] + [(f'lambda = {lam}', pin_outputs[lam]) for lam in (0.0, 0.5, 1.0)] \
        + [('deterministic', pin_outputs['ddim'])]
    for ax, (title, pts) in zip(axes, panels):
        ax.scatter(pts[:, 0], pts[:, 1], s=1)
        ax.set_title(title)
        ax.set_xlim(-4, 4)
        ax.set_ylim(-4, 4)
    fig.tight_layout()
    fig.savefig(folder / 'images' / 'dp_toy2d_pinwheel.png', dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--out', default='docs/results/dp')
    parser.add_argument('--pairs', type=int, default=1500)
    parser.add_argument('--steps', type=int, default=200)
    parser.add_argument('--train-steps', type=int, default=4000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = Path(args.out)
    (folder / 'images').mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    mix, trajectories, fixed_post = mixture_experiment(args.pairs, args.steps, 0.5 ** 0.5)
    print(json.dumps(mix, indent=1), flush=True)
    pin, outputs, x, y = pinwheel_experiment(args.pairs, args.steps, 0.5, args.train_steps)
    print(json.dumps(pin, indent=1), flush=True)
    figures(mix, trajectories, fixed_post, pin, outputs, x, y, folder)
    result = {'mixture': mix, 'pinwheel': pin, 'total_seconds': time.perf_counter() - t0,
              'command': 'python -m benchmarks.dp.dp_toy2d ' + ' '.join(f'--{k.replace("_", "-")} {v}' for k, v in vars(args).items())}
    (folder / 'dp_toy2d.json').write_text(json.dumps(result, indent=1), encoding='utf-8')
    print(f"wrote {folder / 'dp_toy2d.json'} in {result['total_seconds']:.0f} s")


if __name__ == '__main__':
    main()
