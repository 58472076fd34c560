"""Can the second-stage segmenter's learned features improve the geodesic click distance?

Scores on a points database (class-agnostic PQ, clicks as made): the ``geodesic`` method, and
geodesic variants that add what ``panoptic-tiny`` (trained on geodesic pseudo-labels of the
training clicks) predicts: its boundary probability ``b`` in the step cost
(``1 + 1000 e^3 + w b^k``), the embedding distance to each click added to the geodesic distance,
and the embedding gradient as a second edge term. As a bound on what a thing/stuff rule on path
lengths could add, the stuff clicks' geodesic distances are also scaled by a constant.

    python -m benchmarks.points.points_learned_costs --data datasets/points_val.lmdb
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from skimage.graph import MCP_Geometric

from panda_plugin.engine.points.geodesic import edge_cost, shortest_path_labels
from panda_plugin.engine.points.learned import network_inputs
from panda_plugin.engine.points.panoptic import load_panoptic_model
from panda_plugin.engine.points.panoptic_quality import PanopticQuality
from panda_plugin.engine.points.points_data import PointsReader


def distances(cost: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Kxhxw cumulative path costs from each click."""
    return np.stack([MCP_Geometric(cost, fully_connected=True).find_costs([(int(y), int(x))])[0] for x, y in xy])


def variants(image: np.ndarray, xy: np.ndarray, stuff: np.ndarray, network) -> dict:
    """Label maps of every variant for one scene."""
    tensor, _ = network_inputs(network, image, np.zeros((0, 2)))
    with torch.inference_mode():
        embeddings, boundary = network(tensor)
    size = image.shape[:2]
    b = torch.sigmoid(F.interpolate(boundary, size=size, mode='bilinear', align_corners=False))[0, 0].double().numpy()
    e = F.interpolate(embeddings, size=size, mode='bilinear', align_corners=False)[0].double().numpy()
    cost = edge_cost(image)
    out = {'geodesic': shortest_path_labels(cost, xy)}
    for w, k in ((30, 2), (100, 2), (300, 2), (100, 1), (1000, 1)):
        out[f'+ boundary, w {w}, k {k}'] = shortest_path_labels(cost + w * b ** k, xy)
    paths = distances(cost, xy)
    for scale in (0.8, 0.6, 0.4):
        out[f'stuff distances x {scale}'] = (paths * np.where(stuff, scale, 1.0)[:, None, None]).argmin(0)
    geo = np.log1p(paths / max(size))
    to_click = np.stack([np.linalg.norm(e - e[:, y, x][:, None, None], axis=0) for x, y in xy])
    for w in (0.1, 0.3, 1.0):
        out[f'+ {w} x embedding distance'] = (geo + w * to_click).argmin(0)
    gradient = np.sqrt(sum(g ** 2 for channel in e for g in np.gradient(channel)))
    gradient /= max(np.percentile(gradient, 90), 1e-3)
    out['+ embedding-gradient edges'] = shortest_path_labels(cost + 1000 * gradient ** 3, xy)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--data', required=True)
    parser.add_argument('--limit', type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    reader, network = PointsReader(args.data), load_panoptic_model()
    meters = {}
    for index in range(len(reader) if args.limit is None else min(args.limit, len(reader))):
        scene = reader.read(index)
        for name, labels in variants(scene['image'], scene['points'], scene['stuff'], network).items():
            meters.setdefault(name, PanopticQuality()).update(labels, scene['panoptic'])
    for name, meter in meters.items():
        r = meter.result()
        print(f"| {name} | {r['pq']:.1f} | {r['sq']:.1f} | {r['rq']:.1f} |")


if __name__ == '__main__':
    main()
