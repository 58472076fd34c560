"""Training curves of a ``panda train`` run from its TensorBoard events.

Left: the loss terms (moving average over 200 iterations). Right: the validation metrics.

Usage: python -m benchmarks.figures.plot_training tb_logger/panda_tiny --out docs/images/training_curves.png
"""
from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('events', help='TensorBoard folder of the run, e.g. tb_logger/panda_tiny')
    parser.add_argument('--out', default='docs/images/training_curves.png')
    parser.add_argument('--window', type=int, default=200, help='moving-average window of the losses, in iterations')
    args = parser.parse_args()
    from matplotlib.figure import Figure
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(args.events, size_guidance={'scalars': 0}).Reload()
    tags = events.Tags()['scalars']
    figure = Figure(figsize=(12, 4.5), dpi=100)
    losses, metrics = figure.subplots(1, 2)
    for tag in sorted(t for t in tags if t.startswith('losses/')):
        steps, values = zip(*[(e.step, e.value) for e in events.Scalars(tag)])
        spacing = max(1, steps[1] - steps[0]) if len(steps) > 1 else 1
        window = max(1, min(args.window // spacing, len(values)))
        smooth = np.convolve(values, np.ones(window) / window, mode='valid')
        losses.plot(steps[window - 1:], smooth, label=tag.split('/', 1)[1])
    losses.set(title=f'loss terms (moving average over {args.window} iterations)', xlabel='iteration',
               yscale='log')
    losses.legend(fontsize=8)
    for tag in sorted(t for t in tags if t.startswith('metrics/')):
        steps, values = zip(*[(e.step, e.value) for e in events.Scalars(tag)])
        metrics.plot(steps, values, marker='o', label=tag.split('/')[-1])
    metrics.set(title='validation (region-pooled)', xlabel='iteration', ylim=(0, 1))
    metrics.legend(fontsize=8)
    metrics.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(args.out)
    for tag in sorted(t for t in tags if t.startswith('metrics/')):
        last = events.Scalars(tag)[-1]
        print(f'{tag} @ {last.step}: {last.value:.4f}')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
