"""Cost of PANDA inside restoration training, side by side in one run.

1. Time per training iteration of ``options/train_MSRResNet_x4_panda.yml`` with its PANDA loss
   (``panda_opt``) and without it (L1 only), alternating the two models on the same batches.
2. Time of one PANDA validation pass per validation image: the graph alone, and the graph plus
   everything written to TensorBoard (picture, histogram, areas, table).

Needs the data of the example: ``panda make-sr-data --out datasets/bundled_sr``.

Usage: python -m benchmarks.panda.bench_sr_loss [--iterations 30]
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import tempfile
import time

import torch
import yaml

from panda_plugin.adapters.basicsr.registry import register_plugin

OPTIONS = 'options/train_MSRResNet_x4_panda.yml'


def build_model(options: dict, with_panda: bool):
    """A PandaSRModel from the example's options, with or without its PANDA loss."""
    from basicsr.models import build_model as basicsr_build_model

    options = copy.deepcopy(options)
    if not with_panda:
        options['train'].pop('panda_opt')
    options.update(is_train=True, dist=False, rank=0, world_size=1)
    torch.manual_seed(0)
    return basicsr_build_model(options)


def time_iterations(models: dict, batches: list) -> dict:
    """Median seconds of ``optimize_parameters`` per model, alternating models batch by batch."""
    samples = {name: [] for name in models}
    for step, batch in enumerate(batches):
        for name, model in models.items():
            model.feed_data(batch)
            start = time.perf_counter()
            model.optimize_parameters(step + 1)
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values[2:]) for name, values in samples.items()}


def time_validation(options: dict) -> tuple[float, float, int]:
    """Median seconds per validation image: graph only, and graph plus TensorBoard logging."""
    from basicsr.data import build_dataset
    from torch.utils.tensorboard import SummaryWriter

    from panda_plugin.adapters.tensorboard import ValidatedImage, log_graphs
    from panda_plugin.engine.panda.metric import shared_metric

    dataset = build_dataset({**options['datasets']['val'], 'phase': 'val', 'scale': options['scale']})
    metric = shared_metric(options['val']['panda']['weights'], options['val']['panda']['segmenter'])
    graph_times, logged_times = [], []
    with tempfile.TemporaryDirectory() as scratch:
        writer = SummaryWriter(scratch)
        for index in range(len(dataset)):
            gt = dataset[index]['gt'][None]
            restored = torch.nn.functional.interpolate(dataset[index]['lq'][None], size=gt.shape[-2:],
                                                       mode='bicubic').clamp(0, 1)
            start = time.perf_counter()
            with torch.no_grad():
                _, graphs = metric(restored, gt, return_graph=True)
            graph_times.append(time.perf_counter() - start)
            image = ValidatedImage('image', graphs[0], (restored[0].permute(1, 2, 0).numpy() * 255).astype('uint8'),
                                   (gt[0].permute(1, 2, 0).numpy() * 255).astype('uint8'))
            log_graphs(writer, 'bench', index, [image], pictures=1)
            logged_times.append(time.perf_counter() - start)
        writer.close()
    return statistics.median(graph_times), statistics.median(logged_times), len(dataset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=20)
    parser.add_argument('--options', default=OPTIONS)
    args = parser.parse_args()
    register_plugin()
    from basicsr.data import build_dataloader, build_dataset
    from basicsr.utils.options import ordered_yaml

    with open(args.options, encoding='utf-8') as handle:
        options = yaml.load(handle, Loader=ordered_yaml()[0])
    print(f'machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    train_opt = {**options['datasets']['train'], 'phase': 'train', 'scale': options['scale']}
    loader = build_dataloader(build_dataset(train_opt), train_opt, num_gpu=0, dist=False, seed=0)
    batches = []
    while len(batches) < args.iterations:
        batches += [batch for batch, _ in zip(iter(loader), range(args.iterations - len(batches)))]
    models = {'L1 only': build_model(options, with_panda=False),
              'L1 + PandaRegionLoss': build_model(options, with_panda=True)}
    timings = time_iterations(models, batches)
    base = timings['L1 only']
    size = options['datasets']['train']['gt_size']
    print(f'\ntraining iteration, {args.options}, batch {train_opt["batch_size_per_gpu"]} x {size}x{size} HR, '
          f'median of {len(batches) - 2}:')
    print('| loss | s/iteration | vs L1 only |')
    print('|---|---|---|')
    for name, seconds in timings.items():
        print(f'| {name} | {seconds:.3f} | {seconds / base:.2f} |')
    graph, logged, count = time_validation(options)
    print(f'\nPANDA validation pass, median over {count} validation images:')
    print(f'| graph only | {graph:.3f} s/image |')
    print(f'| graph + TensorBoard (picture, histogram, areas, table) | {logged:.3f} s/image |')


if __name__ == '__main__':
    main()
