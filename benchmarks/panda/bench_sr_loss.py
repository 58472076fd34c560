"""Cost of PANDA inside restoration training, side by side in one run.

1. Time per training iteration of ``options/train_MSRResNet_x4_panda.yml`` with its PANDA loss
   (``panda_opt``) and without it (L1 only), alternating the two models on the same batches.
2. Time of one PANDA validation pass per validation image: the graph alone, and the graph plus
   everything written to TensorBoard (picture, histogram, areas, region curves, table); and the
   TensorBoard picture (``pictures.reference_picture``) beside the two-panel Matplotlib
   figure it replaced (``pictures.render_graph``), on the same graphs.

Needs the data of the example: ``panda make-sr-data --out datasets/bundled_sr``.

Usage: python -m benchmarks.panda.bench_sr_loss [--iterations 30] [--validation-only]
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


def time_validation(options: dict) -> dict:
    """Median seconds per validation image: graph only, graph plus TensorBoard logging, and the
    two pictures."""
    from basicsr.data import build_dataset
    from torch.utils.tensorboard import SummaryWriter

    from panda_plugin.adapters.pictures.graph import reference_picture, render_graph
    from panda_plugin.adapters.tensorboard import GraphBoard, ValidatedImage
    from panda_plugin.engine.panda.metric import shared_metric

    dataset = build_dataset({**options['datasets']['val'], 'phase': 'val', 'scale': options['scale']})
    metric = shared_metric(options['val']['panda']['weights'], options['val']['panda']['segmenter'])
    times = {'graph': [], 'logged': [], 'reference_picture': [], 'render_graph': []}
    board = GraphBoard(pictures=1)
    with tempfile.TemporaryDirectory() as scratch:
        writer = SummaryWriter(scratch)
        for index in range(len(dataset)):
            gt = dataset[index]['gt'][None]
            restored = torch.nn.functional.interpolate(dataset[index]['lq'][None], size=gt.shape[-2:],
                                                       mode='bicubic').clamp(0, 1)
            start = time.perf_counter()
            with torch.no_grad():
                _, graphs = metric(restored, gt, return_graph=True)
            times['graph'].append(time.perf_counter() - start)
            image = ValidatedImage('image', graphs[0], (restored[0].permute(1, 2, 0).numpy() * 255).astype('uint8'),
                                   (gt[0].permute(1, 2, 0).numpy() * 255).astype('uint8'))
            board.write(writer, 'bench', index, [image])
            times['logged'].append(time.perf_counter() - start)
            for name, draw in (('reference_picture', reference_picture), ('render_graph', render_graph)):
                start = time.perf_counter()
                draw(image.graph, image.restored, image.reference)
                times[name].append(time.perf_counter() - start)
        writer.close()
    return {name: statistics.median(values) for name, values in times.items()} | {'count': len(dataset)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=20)
    parser.add_argument('--options', default=OPTIONS)
    parser.add_argument('--validation-only', action='store_true', help='time the validation pass only')
    args = parser.parse_args()
    register_plugin()
    from basicsr.utils.options import ordered_yaml

    with open(args.options, encoding='utf-8') as handle:
        options = yaml.load(handle, Loader=ordered_yaml()[0])
    print(f'machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    if not args.validation_only:
        time_training(options, args.iterations)
    timed = time_validation(options)
    print(f'\nPANDA validation pass, median over {timed["count"]} validation images:')
    print('| what | s/image |')
    print('|---|---|')
    print(f'| graph only | {timed["graph"]:.3f} |')
    print(f'| graph + TensorBoard (picture, histogram, areas, region curves, table) | {timed["logged"]:.3f} |')
    print(f'| picture: reference_picture (restored, reference, score map) | {timed["reference_picture"]:.3f} |')
    print(f'| picture: render_graph (Matplotlib, before) | {timed["render_graph"]:.3f} |')
    print(f'ratio render_graph / reference_picture: {timed["render_graph"] / timed["reference_picture"]:.1f}')


def time_training(options: dict, iterations: int) -> None:
    """Print the training-iteration table."""
    from basicsr.data import build_dataloader, build_dataset

    train_opt = {**options['datasets']['train'], 'phase': 'train', 'scale': options['scale']}
    loader = build_dataloader(build_dataset(train_opt), train_opt, num_gpu=0, dist=False, seed=0)
    batches = []
    while len(batches) < iterations:
        batches += [batch for batch, _ in zip(iter(loader), range(iterations - len(batches)))]
    models = {'L1 only': build_model(options, with_panda=False),
              'L1 + PandaRegionLoss': build_model(options, with_panda=True)}
    timings = time_iterations(models, batches)
    base = timings['L1 only']
    size = options['datasets']['train']['gt_size']
    print(f'\ntraining iteration, {OPTIONS}, batch {train_opt["batch_size_per_gpu"]} x {size}x{size} HR, '
          f'median of {len(batches) - 2}:')
    print('| loss | s/iteration | vs L1 only |')
    print('|---|---|---|')
    for name, seconds in timings.items():
        print(f'| {name} | {seconds:.3f} | {seconds / base:.2f} |')


if __name__ == '__main__':
    main()
