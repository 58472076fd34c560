"""``panda bench``: PANDA against label-blind baselines on a PANDABENCH database."""
from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from panda_plugin.core.region_labels import LABEL_FIELDS, SIDES, RegionLabels, label_field
from panda_plugin.core.taxonomy import RELATIONS
from panda_plugin.engine.data.lmdb_store import RecordReader
from panda_plugin.engine.panda.evaluation import (
    METRICS,
    RegionAccumulator,
    baseline_predictions,
    confusion_matrix,
    region_metrics,
)
from panda_plugin.engine.panda.models.heads import decode
from panda_plugin.engine.panda.models.panda_arch import PANDA
from panda_plugin.engine.panda.predictor import predict, resolve_model
from panda_plugin.engine.tensors import rgb8_to_tensor

#: PANDA's results in the paper (relation/distortion/severity macro F1, SRCC, PLCC).
PAPER = {
    'easy': {'relation_f1': 0.56, 'distortion_f1': 0.79, 'severity_f1': 0.59, 'srcc': 0.79, 'plcc': 0.83},
    'hard': {'relation_f1': 0.24, 'distortion_f1': 0.19, 'severity_f1': 0.33, 'srcc': 0.36, 'plcc': 0.38},
}


def run_bench(database, model=None, device=None, progress: bool = True) -> dict:
    """Predict every pair of a database with its stored regions and score the predictions.

    Args:
        database: A PANDABENCH LMDB (or a list of them) written by ``make-dataset``.
        model: ``PANDA`` network or weights name/path. Default: ``'panda-tiny'``.
        device: Torch device. Default: CPU.
        progress: Show a progress bar. Default: True.

    Returns:
        ``{'split', 'pairs', 'regions', 'methods': {name: metrics}, 'confusion':
        {field: matrix}}``; methods are the model (by its weights name), ``random`` and
        ``majority``, all on the same regions.
    """
    reader = RecordReader(database)
    network = resolve_model(model, device)
    accumulator = RegionAccumulator()
    for position in tqdm(range(len(reader)), desc='bench', unit='pair', disable=not progress):
        record = reader.read(position)
        accumulator.add(record['region_labels'], predict_regions(network, record['anchor'], record['target'],
                                                                 record['label_map']))
    truth, predicted = accumulator.collected()
    name = getattr(network, 'weights_name', 'panda')
    methods = {name: region_metrics(truth, predicted)}
    for baseline in ('random', 'majority'):
        methods[baseline] = region_metrics(truth, baseline_predictions(truth, baseline))
    confusion = {
        'relation': confusion_matrix(truth['relation'], predicted['relation'], len(RELATIONS)),
        **{name: sum(confusion_matrix(truth[key], predicted[key], LABEL_FIELDS[key])
                     for key in (label_field(side, name) for side in SIDES))
           for name in ('distortion', 'severity')},
    }
    return {'split': reader.config().get('split'), 'pairs': len(reader),
            'regions': int(len(truth['relation'])), 'methods': methods, 'confusion': confusion}


def format_report(report: dict) -> str:
    """Plain-text table of a ``run_bench`` report with the paper's PANDA beside it.

    Args:
        report: Output of ``run_bench``.

    Returns:
        The table.
    """
    rows = dict(report['methods'])
    paper = PAPER.get(report['split'])
    if paper:
        rows['paper PANDA'] = paper
    lines = [f"PANDABENCH {report['split']}: {report['pairs']} pairs, {report['regions']} regions",
             f"{'method':<14}" + ''.join(f'{m:>15}' for m in METRICS)]
    for name, metrics in rows.items():
        cells = ''.join(f'{metrics[m]:>15.3f}' if m in metrics else f'{"-":>15}' for m in METRICS)
        lines.append(f'{name:<14}{cells}')
    return '\n'.join(lines)


def json_report(report: dict) -> dict:
    """JSON-serialisable form: one object per method with the keys of ``METRICS``.

    Args:
        report: Output of ``run_bench``.

    Returns:
        A dict ready for ``json.dump``.
    """
    return {'split': report['split'], 'pairs': report['pairs'], 'regions': report['regions'],
            'methods': report['methods'], 'paper': PAPER.get(report['split']),
            'confusion': {k: np.asarray(v).tolist() for k, v in report['confusion'].items()}}


def predict_regions(network: PANDA, anchor: np.ndarray, target: np.ndarray,
                    label_map: np.ndarray) -> RegionLabels:
    """Run the network on one pair and decode its per-region labels (see ``heads.decode``).

    Args:
        network: PANDA in eval mode.
        anchor: HxWx3 uint8 RGB.
        target: HxWx3 uint8 RGB.
        label_map: HxW int label map, ``0..N-1`` regions and ``-1`` elsewhere.

    Returns:
        numpy labels, one value per region (scores as float64).
    """
    device = next(network.parameters()).device
    labels = torch.from_numpy(np.asarray(label_map, np.int64))[None].to(device)
    with torch.inference_mode():
        decoded = decode(predict(network, rgb8_to_tensor(anchor, device)[None], rgb8_to_tensor(target, device)[None],
                                  labels))
    return decoded.map(lambda value: (value[0].double() if value.is_floating_point() else value[0]).cpu().numpy())
