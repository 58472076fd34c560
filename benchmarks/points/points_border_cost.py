"""Step cost of the learned border distance: PQ of ``ClickBoundaryNet`` click regions on a points
database for a grid of ``cost_weight`` x ``cost_power``, with one pass of the network or the
average over the image and its flips (the shipped inference).

    python -m benchmarks.points.points_border_cost --data datasets/points_val.lmdb --weights points-boundary

The step cost is ``1 + cost_weight * b ** cost_power``; the shipped values were chosen on
``points_val`` (training distribution, another seed), never on the held-out test scenes.
``--oracle`` scores the same shortest paths over the true borders instead (the dense ground
truth, dilated by one pixel, as the border map): the most any border cost can give.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from scipy import ndimage

from panda_plugin.engine.points.geodesic import shortest_path_labels
from panda_plugin.engine.points.learned import load_point_model, network_inputs
from panda_plugin.engine.points.panoptic_quality import PanopticQuality
from panda_plugin.engine.points.points_data import PointsReader


def oracle_pq(reader) -> dict:
    """PQ of shortest paths over ``1 + 1000 * (true border)`` (see the module docstring)."""
    meter = PanopticQuality()
    for index in range(len(reader)):
        scene = reader.read(index)
        truth = scene['panoptic']
        border = np.zeros(truth.shape, bool)
        border[:, 1:] |= truth[:, 1:] != truth[:, :-1]
        border[1:] |= truth[1:] != truth[:-1]
        meter.update(shortest_path_labels(1 + 1000.0 * ndimage.binary_dilation(border), scene['points']), truth)
    return meter.result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default='datasets/points_val.lmdb')
    parser.add_argument('--weights', default='points-boundary')
    parser.add_argument('--weights-grid', default='1e3,1e4,1e5', help='cost_weight values')
    parser.add_argument('--powers', default='2,3,4', help='cost_power values')
    parser.add_argument('--oracle', action='store_true', help='score the true borders as the cost instead')
    args = parser.parse_args()
    if args.oracle:
        result = oracle_pq(PointsReader(args.data))
        print(f'true borders as the step cost, {args.data}: PQ / SQ / RQ '
              f'{result["pq"]:.1f} / {result["sq"]:.1f} / {result["rq"]:.1f}')
        return
    network = load_point_model(args.weights)
    reader = PointsReader(args.data)
    grid = [(float(w), float(p)) for w in args.weights_grid.split(',') for p in args.powers.split(',')]
    meters = {(passes, w, p): PanopticQuality() for passes in ('one pass', 'flip average') for w, p in grid}
    for index in range(len(reader)):
        scene = reader.read(index)
        if scene['image'].shape[0] != network.working_size(*scene['image'].shape[:2])[0]:
            raise SystemExit(f'{args.data}: scenes must be at the working size {network.input_size}')
        tensor, _ = network_inputs(network, scene['image'], scene['points'])
        with torch.inference_mode():
            borders = {'one pass': torch.sigmoid(network(tensor))[0, 0].double().numpy(),
                       'flip average': network.probability(tensor)[0].double().numpy()}
        for (passes, weight, power), meter in meters.items():
            meter.update(shortest_path_labels(1 + weight * borders[passes] ** power, scene['points']),
                         scene['panoptic'])
    print(f'PQ / SQ / RQ of {network.weights_name} on {args.data} ({len(reader)} scenes)\n')
    print('| cost_weight | cost_power | one pass | flip average |')
    print('|---|---|---|---|')
    for weight, power in grid:
        cells = [meters[(passes, weight, power)].result() for passes in ('one pass', 'flip average')]
        print(f'| {weight:g} | {power:g} | ' + ' | '.join(f'{r["pq"]:.1f} / {r["sq"]:.1f} / {r["rq"]:.1f}'
                                                        for r in cells) + ' |')


if __name__ == '__main__':
    main()
