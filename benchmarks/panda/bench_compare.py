"""Speed and memory of reference-mode ``compare`` beside pyiqa's metrics, in one interleaved run.

Sections (``--sections``, all by default):

- ``speed``: five 512x512 pairs of held-out packaged photographs (each restored image a
  Gaussian blur, sigma 1.5, then JPEG quality 40), called round-robin so that machine noise
  hits every row alike; each row is the median of ``--repeats`` calls (the pairs in turn):
  ``compare`` in reference mode (the default) and in pairwise mode, the pyiqa metric
  ``panda`` on tensors, pyiqa's ``ssim``, ``ms_ssim``, ``fsim`` and ``gmsd``, and pyiqa's
  ``topiq_fr`` architecture (CFANet, ResNet-50) with random weights (nothing downloaded);
- ``profile``: where reference-mode ``compare`` and the pyiqa metric spend their time, stage
  by stage, on the first pair (interleaved medians);
- ``folder``: ``panda compare DIR DIR`` on ``--folder-pairs`` pairs (one process) against
  ``panda compare A B`` once per pair (one process each, as a shell loop does), and the same
  two in one process (``compare_pairs`` by default and in batches of 8, against ``compare``
  per pair);
- ``memory``: the peak resident memory (``VmHWM``; ``ru_maxrss`` would carry the parent's
  peak over ``fork``) of a fresh process comparing a 2048x2048 pair in reference mode, above
  the same process right after ``import torch``;
- ``loss``: one training iteration of BasicSR's MSRResNet (x4, batch 4, 128-px crops) with
  L1 alone and with L1 plus ``PandaRegionLoss`` as in ``options/train_MSRResNet_x4_panda.yml``,
  interleaved;
- ``consistency``: pairwise mode on the held-out Grace Hopper photograph degraded by quadrant:
  the image against itself, anchor and target swapped, the same call twice;
- ``timeline``: when each stage of reference-mode ``compare`` starts and ends on its lane (the
  calling thread or the background thread), in ms from the start of the call: medians over
  ``--repeats`` calls, the pairs in turn (the stages' functions are wrapped with timers for the
  section, so the whole call runs a little slower than in ``speed``).

Usage: python -m benchmarks.panda.bench_compare [--repeats 15] [--json docs/results/panda/bench_compare.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch

SECTIONS = ('speed', 'profile', 'folder', 'memory', 'loss', 'consistency', 'timeline')
#: Held-out packaged photographs (never trained on), as (package, name).
PHOTOS = (('matplotlib', 'grace_hopper.jpg'), ('skimage', 'coffee'), ('skimage', 'rocket'),
          ('skimage', 'immunohistochemistry'), ('skimage', 'gravel'))

MEMORY_PROBE = """
import sys, torch
def peak():  # this process's resident high-water mark (VmHWM), in GiB
    line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))
    return int(line.split()[1]) / 2**20
base = peak()
import cv2, numpy as np, panda_plugin
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.image_io import square_crop
side = int(sys.argv[1])
clean = cv2.resize(square_crop(packaged_image('matplotlib', 'grace_hopper.jpg'), 512), (side, side),
                   interpolation=cv2.INTER_CUBIC)
restored = cv2.GaussianBlur(clean, (0, 0), 1.5 * side / 512)
loaded = peak()
graph = panda_plugin.compare(restored, clean)
print(base, loaded, peak(), len(graph.regions))
"""


def degraded(clean: np.ndarray) -> np.ndarray:
    """Gaussian blur (sigma 1.5) then JPEG quality 40."""
    blurred = cv2.GaussianBlur(clean, (0, 0), 1.5)
    _, data = cv2.imencode('.jpg', np.ascontiguousarray(blurred[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 40])
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])


def photo_pairs(side: int = 512) -> list[tuple[np.ndarray, np.ndarray]]:
    """(restored, reference) uint8 pairs of the ``PHOTOS``, centre-cropped to ``side``."""
    from panda_plugin.engine.data.bundled import packaged_image
    from panda_plugin.engine.image_io import square_crop

    pairs = []
    for source, name in PHOTOS:
        clean = square_crop(packaged_image(source, name), side)
        pairs.append((degraded(clean), clean))
    return pairs


def tensor(image: np.ndarray) -> torch.Tensor:
    """1x3xHxW float in [0, 1], contiguous (as a user's data loader gives it)."""
    return torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255).contiguous()


def topiq_fr_random():
    """pyiqa's TOPIQ-FR network (CFANet, ResNet-50) with random weights: nothing is downloaded."""
    from pyiqa.archs.topiq_arch import CFANet

    return CFANet(semantic_model_name='resnet50', model_name='cfanet_fr_kadid_res50', use_ref=True,
                  backbone_pretrain=False, pretrained=False).eval()


def interleaved(calls: dict, rounds: int) -> dict:
    """Median seconds of every call, round-robin: each round calls every entry once.

    Args:
        calls: Name -> function of the round index.
        rounds: Number of timed rounds (after one warm-up round).

    Returns:
        Name -> median seconds.
    """
    samples = {name: [] for name in calls}
    for round_index in range(-1, rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call(max(round_index, 0))
            if round_index >= 0:
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def speed_section(pairs: list, repeats: int) -> dict:
    """The interleaved table of the module docstring."""
    import pyiqa

    import panda_plugin

    tensors = [(tensor(restored), tensor(reference)) for restored, reference in pairs]
    metrics = {name: pyiqa.create_metric(name, device='cpu') for name in ('panda', 'ssim', 'ms_ssim', 'fsim', 'gmsd')}
    topiq = topiq_fr_random()

    def pick(index):
        return pairs[index % len(pairs)]

    def on_tensors(function):
        def call(index):
            with torch.no_grad():
                return function(*tensors[index % len(tensors)])
        return call

    calls = {
        'compare (reference mode)': lambda i: panda_plugin.compare(*pick(i)),
        'compare (pairwise mode)': lambda i: panda_plugin.compare(*pick(i), pairwise=True),
        'pyiqa panda': on_tensors(metrics['panda']),
        'pyiqa panda with graphs': on_tensors(lambda *pair: metrics['panda'](*pair, return_graph=True)),
        **{f'pyiqa {name}': on_tensors(metrics[name]) for name in ('ssim', 'ms_ssim', 'fsim', 'gmsd')},
        'topiq_fr architecture (random weights)': on_tensors(topiq),
    }
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        medians = interleaved(calls, repeats)
    base = medians['topiq_fr architecture (random weights)']
    metric = medians['pyiqa panda']
    return {name: {'s': round(s, 4), 'vs_topiq_fr': round(s / base, 3), 'vs_pyiqa_panda': round(s / metric, 3)}
            for name, s in medians.items()}


def profile_section(pair: tuple, repeats: int) -> dict:
    """Stage medians (ms) of reference-mode ``compare`` and of the pyiqa metric on one pair."""
    import torch.nn.functional as F

    import panda_plugin
    from panda_plugin.engine.panda.background import encode_in_background, in_background, sharing_threads
    from panda_plugin.engine.panda.metric import checked_rgb, shared_metric
    from panda_plugin.engine.panda.models.token_pool import coarser_masks, region_masks
    from panda_plugin.engine.panda.predictor import label_maps_of, measures_beside, resolve_model
    from panda_plugin.engine.panda.reference import reference_graphs, reference_measures
    from panda_plugin.engine.panda.reference_inputs import reference_inputs
    from panda_plugin.engine.regions import build_segmenter
    from panda_plugin.engine.tensors import rgb8_to_tensor

    restored, reference = pair
    network, segmenter, metric = resolve_model(), build_segmenter('superpixel'), shared_metric(device='cpu')
    anchor, target = (rgb8_to_tensor(image)[None].contiguous() for image in pair)
    labels = torch.from_numpy(np.asarray(segmenter(reference), np.int64))[None]
    count = int(labels.max()) + 1
    with torch.no_grad():
        scores, textures = reference_measures(anchor, target, labels)
        logits = network(anchor, target, labels)['anchor_distortion']
        small = F.interpolate(torch.cat([anchor, target]), size=(network.input_size,) * 2, mode='bilinear',
                              antialias=True, align_corners=False)
        features = network.encoder(small)
        grids = network.statistics.grids(torch.cat([anchor, target]))
        cell_masks = region_masks(labels, count, grids[0].shape[-2:])
        encoding = network.encode(anchor, target)
        region_tokens = network.region_tokens(labels, count, encoding)

    def second_phase(_):
        with sharing_threads() as background:
            pending = in_background(network.region_tokens, labels, count, encoding, threads=background)
            _, textures = measures_beside(reference_inputs(anchor, target, labels), background)
            network.decode_tokens(pending.result())
            return textures.result()

    metadata = [{'weights': 'panda-tiny', 'network_relation': 'same'}]
    stages = {
        'regions (superpixel proposer on the reference)': lambda _: segmenter(reference),
        'prepare inputs (clip, work size, identical regions)': lambda _: reference_inputs(anchor, target, labels),
        'fidelity (prepared inputs included)': lambda _: reference_measures(anchor, target, labels, texture=False),
        'texture (prepared inputs included)': lambda _: reference_measures(anchor, target, labels, fidelity=False),
        'network: resize to input size': lambda _: F.interpolate(torch.cat([anchor, target]),
                                                                 size=(network.input_size,) * 2, mode='bilinear',
                                                                 antialias=True, align_corners=False),
        'network: encoder': lambda _: network.encoder(small),
        'network: region masks and token pool': lambda _: network.token_pool(
            features, coarser_masks(region_masks(labels, count, grids[0].shape[-2:]), features.shape[-2:])),
        'network: statistic maps (full resolution)': lambda _: network.statistics.grids(torch.cat([anchor, target])),
        'network: region statistics': lambda _: network.statistics(grids, cell_masks),
        'regions while the network encodes the pair (as compare runs them)': lambda _: (
            encode_in_background(network, anchor, target), segmenter(reference))[0].result(),
        'network: decoder and heads': lambda _: network.decode_tokens(region_tokens),
        'region tokens, then texture in the background while the inputs, fidelity and the decoder run here '
        '(as compare runs them)': second_phase,
        'graph building': lambda _: reference_graphs(logits, scores, labels, metadata, textures),
        'compare (reference mode), end to end': lambda _: panda_plugin.compare(restored, reference),
        'pyiqa metric: input checks': lambda _: (checked_rgb(anchor, 'restored'), checked_rgb(target, 'reference')),
        'pyiqa metric: regions (tensor to uint8, proposer)': lambda _: label_maps_of(target, metric.segmenter),
        'pyiqa metric, end to end': lambda _: metric(anchor, target),
    }
    with torch.no_grad():
        medians = interleaved(stages, repeats)
    total = medians['compare (reference mode), end to end']
    return {name: {'ms': round(s * 1000, 1), 'share_of_compare': round(s / total, 3)} for name, s in medians.items()}


def panda_command() -> list[str]:
    """The ``panda`` command of this interpreter."""
    script = Path(sys.executable).with_name('panda')
    return [str(script)] if script.is_file() else [sys.executable, '-m', 'panda_plugin.adapters.cli']


def folder_section(count: int, per_pair_calls: int) -> dict:
    """The folder command against per-pair calls, as processes and in one process."""
    from benchmarks.panda.bench_folder_compare import make_pairs
    import panda_plugin
    from panda_plugin.engine.panda.folder_compare import compare_pairs
    from panda_plugin.engine.panda.folders import pair_folders

    out = Path(tempfile.mkdtemp(prefix='bench_compare_'))
    try:
        make_pairs(out, count, 512)
        names = sorted(path.stem for path in (out / 'restored').glob('*.png'))
        panda = panda_command()
        start = time.perf_counter()
        subprocess.run(panda + ['compare', str(out / 'restored'), str(out / 'reference'), '--csv',
                                str(out / 'scores.csv')], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        folder = time.perf_counter() - start
        calls = names[:per_pair_calls]
        start = time.perf_counter()
        for name in calls:
            subprocess.run(panda + ['compare', str(out / 'restored' / f'{name}.png'),
                                    str(out / 'reference' / f'{name}.png')], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        per_pair = (time.perf_counter() - start) * len(names) / len(calls)
        pairs = list(pair_folders(out / 'restored', out / 'reference'))
        start = time.perf_counter()
        batched = compare_pairs(pairs, progress=False)
        in_process_folder = time.perf_counter() - start
        start = time.perf_counter()
        compare_pairs(pairs, batch_size=8, progress=False)
        in_process_batches = time.perf_counter() - start
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            single = [panda_plugin.compare(*pair.paths[:2]) for pair in pairs]
        in_process_single = time.perf_counter() - start
        difference = max(abs(a.graph.anchor_score - b.anchor_score) for a, b in zip(batched, single))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {'pairs': len(names), 'per_pair_processes_run': len(calls),
            'folder_command_s': round(folder, 1), 'per_pair_commands_s': round(per_pair, 1),
            'speed_up_commands': round(per_pair / folder, 2),
            'in_process_compare_pairs_s': round(in_process_folder, 1),
            'in_process_compare_per_pair_s': round(in_process_single, 1),
            'in_process_compare_pairs_in_batches_of_8_s': round(in_process_batches, 1),
            'speed_up_in_process': round(in_process_single / in_process_folder, 2),
            'largest_score_difference_batched_vs_single': difference}


def memory_section(side: int = 2048) -> dict:
    """Peak resident memory of a fresh process comparing a ``side`` x ``side`` pair."""
    probe = subprocess.run([sys.executable, '-c', MEMORY_PROBE, str(side)], capture_output=True, text=True, check=True,
                           env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    base, loaded, peak, regions = (float(value) for value in probe.stdout.split())
    return {'side': side, 'regions': int(regions), 'after_import_torch_gib': round(base, 3),
            'after_imports_and_pair_gib': round(loaded, 3), 'peak_gib': round(peak, 3),
            'peak_above_import_torch_gib': round(peak - base, 3),
            'measure': 'VmHWM of /proc/self/status (resident high-water mark of the probe process)'}


def loss_section(repeats: int) -> dict:
    """One MSRResNet training iteration with L1 alone and with L1 + PandaRegionLoss, interleaved."""
    from basicsr.archs.srresnet_arch import MSRResNet

    from panda_plugin.engine.panda.region_loss import PandaRegionLoss

    torch.manual_seed(0)
    network = MSRResNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=16, upscale=4)
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-4)
    pairs = photo_pairs(128)
    gt = torch.cat([tensor(reference) for _, reference in pairs[:4]])
    lq = torch.nn.functional.interpolate(gt, scale_factor=0.25, mode='bicubic', antialias=True).clamp(0, 1)
    panda = PandaRegionLoss(mode='region', strength=1.0, segmenter='grid:4x4')

    def iteration(with_panda: bool):
        def call(_):
            optimizer.zero_grad()
            output = network(lq)
            loss = torch.nn.functional.l1_loss(output, gt)
            if with_panda:
                loss = loss + panda(output, gt)
            loss.backward()
            optimizer.step()
        return call

    medians = interleaved({'L1 alone': iteration(False), 'L1 + PandaRegionLoss': iteration(True)}, repeats)
    return {'batch': 4, 'gt_size': 128, 'segmenter': 'grid:4x4', 'mode': 'region',
            **{name: round(s, 4) for name, s in medians.items()},
            'ratio': round(medians['L1 + PandaRegionLoss'] / medians['L1 alone'], 3)}


def consistency_section() -> dict:
    """The checks of docs/benchmarks.md (pairwise mode, superpixel regions, 512x512)."""
    import panda_plugin
    from panda_plugin.adapters.cli.panda import DEMO_QUADRANTS, quadrant_label_map
    from panda_plugin.engine.data.bundled import packaged_image
    from panda_plugin.engine.distortions import degrade_regions
    from panda_plugin.engine.image_io import square_crop

    target = square_crop(packaged_image('matplotlib', 'grace_hopper.jpg'), 512)
    anchor = degrade_regions(target, quadrant_label_map(512), DEMO_QUADRANTS, seed=0)
    itself = panda_plugin.compare(target, target, pairwise=True)
    forward = panda_plugin.compare(anchor, target, pairwise=True)
    backward = panda_plugin.compare(target, anchor, masks=forward.label_map, pairwise=True)
    mirrored = np.mean([a.relation == b.relation for a, b in zip(forward.mirror().regions, backward.regions)])
    return {'self_regions': len(itself.regions),
            'self_all_same': all(r.relation == 'same' for r in itself.regions),
            'self_all_clean': all(r.anchor.distortion == r.target.distortion == 'clean' for r in itself.regions),
            'self_max_score_gap': max(abs(r.anchor.score - r.target.score) for r in itself.regions),
            'swap_mirror_fraction': float(mirrored),
            'identical_json_twice': panda_plugin.compare(anchor, target, pairwise=True).to_json() == forward.to_json()}


def timeline_section(pairs: list, repeats: int) -> dict:
    """Median start and end (ms from the start of the call) of each stage of ``compare``."""
    import panda_plugin
    from panda_plugin.engine.panda import predictor
    from panda_plugin.engine.panda.models.panda_arch import PANDA
    from panda_plugin.engine.regions import build_segmenter

    marks, start = {}, [0.0]

    def timed(function, stage):
        def call(*args, **kwargs):
            begin = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                end = time.perf_counter()
                lane = 'background' if threading.current_thread().name.startswith('panda-background') else 'calling thread'
                marks.setdefault(f'{lane}: {stage}', []).append(((begin - start[0]) * 1000, (end - start[0]) * 1000))
        return call

    stages = {(predictor, 'reference_inputs'): 'prepared inputs',
              (predictor, 'fidelity_of'): 'fidelity',
              (predictor, 'texture_of'): 'texture',
              (PANDA, 'region_tokens'): 'network: region tokens',
              (PANDA, 'decode_tokens'): 'network: decoder and heads',
              (predictor, 'reference_graphs'): 'graph',
              (PANDA, 'encode'): 'encoder, then statistic maps'}
    originals = {key: getattr(*key) for key in stages}
    proposer = timed(build_segmenter('superpixel'), 'proposer')
    try:
        for (owner, name), stage in stages.items():
            setattr(owner, name, timed(originals[owner, name], stage))
        panda_plugin.compare(*pairs[0], segmenter=proposer)
        marks.clear()
        for index in range(repeats):
            start[0] = time.perf_counter()
            panda_plugin.compare(*pairs[index % len(pairs)], segmenter=proposer)
            marks.setdefault('compare, end to end', []).append((0.0, (time.perf_counter() - start[0]) * 1000))
    finally:
        for (owner, name), function in originals.items():
            setattr(owner, name, function)
    rows = {stage: {'from_ms': round(statistics.median(b for b, _ in spans), 1),
                    'to_ms': round(statistics.median(e for _, e in spans), 1),
                    'ms': round(statistics.median(e - b for b, e in spans), 1)} for stage, spans in marks.items()}
    return dict(sorted(rows.items(), key=lambda item: item[1]['from_ms']))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=15, help='timed calls per row (speed, profile, loss)')
    parser.add_argument('--sections', nargs='+', default=list(SECTIONS), choices=SECTIONS)
    parser.add_argument('--folder-pairs', type=int, default=100)
    parser.add_argument('--per-pair-calls', type=int, default=100,
                        help='per-pair processes actually run (the time is scaled to --folder-pairs)')
    parser.add_argument('--threads', type=int, help='torch threads (default: torch\'s own choice)')
    parser.add_argument('--json', help='write the results as JSON')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    result = {'command': 'python -m benchmarks.panda.bench_compare ' + ' '.join(sys.argv[1:]),
              'machine': f'{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, '
                         f'torch {torch.__version__}, {torch.get_num_threads()} threads',
              'load_average_at_start': os.getloadavg()}
    print(result['machine'], flush=True)
    pairs = photo_pairs()
    for section in args.sections:
        if section == 'speed':
            result['speed'] = speed_section(pairs, args.repeats)
        elif section == 'profile':
            result['profile'] = profile_section(pairs[0], args.repeats)
        elif section == 'folder':
            result['folder'] = folder_section(args.folder_pairs, args.per_pair_calls)
        elif section == 'memory':
            result['memory'] = memory_section()
        elif section == 'loss':
            result['loss'] = loss_section(args.repeats)
        elif section == 'consistency':
            result['consistency'] = consistency_section()
        else:
            result['timeline'] = timeline_section(pairs, args.repeats)
        print(json.dumps({section: result[section]}, indent=1), flush=True)
    result['load_average_at_end'] = os.getloadavg()
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + '\n', encoding='utf-8')


if __name__ == '__main__':
    main()
