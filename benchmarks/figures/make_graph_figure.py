"""The labelled distortion graph of docs/graph.md: its picture, prompt text and JSON excerpt.

A PANDASET-style pair built from skimage's astronaut: anchor = blur on some regions, target =
noise on others (both ``single`` versions), labelled by the default scorer.

Usage: python -m benchmarks.figures.make_graph_figure [--out docs/images/example_graph.png]
"""
from __future__ import annotations

import argparse
import json

import skimage.data

from panda_plugin.core.graph import DistortionGraph
from panda_plugin.engine.image_io import square_crop
from panda_plugin.engine.panda.data.versions import make_version
from panda_plugin.engine.panda.scoring import build_scorer
from panda_plugin.engine.regions import SuperpixelSegmenter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='docs/images/example_graph.png')
    args = parser.parse_args()
    clean = square_crop(skimage.data.astronaut(), 512)
    label_map = SuperpixelSegmenter(n_regions=16)(clean)
    scorer = build_scorer('ssim_psnr')
    anchor = make_version('single:blur', clean, label_map, scorer, seed=0, source='astronaut')
    target = make_version('single:noise', clean, label_map, scorer, seed=0, source='astronaut')
    graph = DistortionGraph.from_labels(label_map, anchor, target, metadata={'source': 'astronaut'})
    print(f'wrote {graph.render(args.out, anchor.image, target.image)}\n')
    print(graph.to_prompt())
    data = graph.to_dict()
    data['regions'] = data['regions'][:1]
    data['regions'][0]['mask']['counts'] = data['regions'][0]['mask']['counts'][:40] + '...'
    print('\n' + json.dumps(data, indent=1))


if __name__ == '__main__':
    main()
