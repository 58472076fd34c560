"""Cost of PANDA inside restoration training, side by side in one run.

1. Time per training iteration of ``options/train_MSRResNet_x4_panda.yml`` with its PANDA loss
   (``panda_opt``) and without it (L1 only), alternating the two models on the same batches.
2. Time of one PANDA validation pass per validation image: the graph alone, and the graph plus
   everything written to TensorBoard (picture, histogram, areas, region curves, table); and the
   TensorBoard picture (``pictures.reference_picture``) beside the two-panel Matplotlib
   figure it replaced (``pictures.render_graph``), on the same graphs.
3. With ``--quality N``, instead: how well the loss trains. The example's model with L1 only,
   with L1 + ``PandaRegionLoss`` as the example sets it (``mode: region``) and with L1 +
   ``PandaRegionLoss`` in ``mode: score`` (``1 - score``, differentiated), trained side by side
   on the same N batches from the same initial weights (the cosine schedule shortened to N
   iterations), then PSNR (RGB, 4-pixel border cropped, as the example validates) and the pyiqa
   metric ``panda`` of each on the example's validation images.

Needs the data of the example: ``panda make-sr-data --out datasets/bundled_sr``.

Usage: python -m benchmarks.panda.bench_sr_loss [--iterations 30] [--validation-only] [--quality N [--json OUT]]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import torch

from panda_plugin.adapters.basicsr.registry import register_plugin
from panda_plugin.core.option_file import load_option_file

OPTIONS = 'options/train_MSRResNet_x4_panda.yml'


def build_model(options: dict, with_panda: bool, panda_mode: str | None = None):
    """A PandaSRModel from the example's options, with or without its PANDA loss (in the
    example's mode or ``panda_mode``)."""
    from basicsr.models import build_model as basicsr_build_model

    options = copy.deepcopy(options)
    if not with_panda:
        options['train'].pop('panda_opt')
    elif panda_mode:
        options['train']['panda_opt']['mode'] = panda_mode
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


def train_and_validate(options: dict, batches: list) -> dict:
    """PSNR and PANDA on the validation images of the three models trained on ``batches``."""
    import pyiqa
    from basicsr.data import build_dataset
    from basicsr.metrics import calculate_psnr
    from basicsr.utils import tensor2img

    options = copy.deepcopy(options)
    options['train']['total_iter'] = len(batches)
    options['train']['scheduler']['periods'] = [len(batches)]
    models = {'L1 only': build_model(options, with_panda=False),
              'L1 + PandaRegionLoss (mode: region, the example)': build_model(options, with_panda=True),
              'L1 + PandaRegionLoss (mode: score)': build_model(options, with_panda=True, panda_mode='score')}
    start = time.time()
    for step, batch in enumerate(batches):
        for model in models.values():
            model.feed_data(batch)
            model.optimize_parameters(step + 1)
            model.update_learning_rate(step + 2, warmup_iter=-1)
        if (step + 1) % 50 == 0:
            print(f'iteration {step + 1} / {len(batches)}, {time.time() - start:.0f} s', flush=True)
    dataset = build_dataset({**options['datasets']['val'], 'phase': 'val', 'scale': options['scale']})
    panda = pyiqa.create_metric('panda', device='cpu')
    results = {}
    for name, model in models.items():
        psnr, scores = [], []
        for index in range(len(dataset)):
            item = dataset[index]
            model.feed_data({'lq': item['lq'][None], 'gt': item['gt'][None]})
            model.test()
            output = model.output.clamp(0, 1)
            psnr.append(calculate_psnr(tensor2img(output), tensor2img(item['gt'][None]), crop_border=4))
            with torch.no_grad():
                scores.append(float(panda(output, item['gt'][None])))
        results[name] = {'psnr': statistics.mean(psnr), 'panda': statistics.mean(scores),
                         'psnr_per_image': psnr, 'panda_per_image': scores}
    return {'iterations': len(batches), 'validation_images': len(dataset), 'seconds': time.time() - start,
            'results': results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=20)
    parser.add_argument('--options', default=OPTIONS)
    parser.add_argument('--validation-only', action='store_true', help='time the validation pass only')
    parser.add_argument('--quality', type=int, help='train the three models this many iterations and validate them')
    parser.add_argument('--json', help='with --quality: write the results here')
    args = parser.parse_args()
    if args.quality:
        args.iterations = args.quality
    register_plugin()
    options = load_option_file(args.options)
    print(f'machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    if args.quality:
        time_training(options, args.iterations, quality=True, json_path=args.json)
        return
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


def time_training(options: dict, iterations: int, quality: bool = False, json_path: str | None = None) -> None:
    """Print the training-iteration table, or with ``quality`` train and validate the three models."""
    from basicsr.data import build_dataloader, build_dataset

    train_opt = {**options['datasets']['train'], 'phase': 'train', 'scale': options['scale']}
    loader = build_dataloader(build_dataset(train_opt), train_opt, num_gpu=0, dist=False, seed=0)
    batches = []
    while len(batches) < iterations:
        batches += [batch for batch, _ in zip(iter(loader), range(iterations - len(batches)))]
    if quality:
        record = train_and_validate(options, batches)
        print(f'\n{record["iterations"]} iterations, mean over {record["validation_images"]} validation images:')
        print('| loss | PSNR (dB) | PANDA |\n|---|---|---|')
        for name, row in record['results'].items():
            print(f'| {name} | {row["psnr"]:.2f} | {row["panda"]:.3f} |')
        if json_path:
            with open(json_path, 'w') as handle:
                json.dump({'command': 'python -m benchmarks.panda.bench_sr_loss ' + ' '.join(sys.argv[1:]), **record},
                          handle, indent=1)
        return
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
