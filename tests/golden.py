"""Golden outputs of the shipped weights on two bundled pairs, pairwise and in reference mode
(``<name>_reference``: the target is the anchor's reference).

``python tests/golden.py`` rewrites ``tests/data/golden_panda_tiny.json``; run it only when
the shipped weights or the reference-mode measure change on purpose, and say so in the commit.
"""
import itertools
import json
from pathlib import Path

import numpy as np
import skimage.data

from panda_plugin.engine.distortions import degrade_regions
from panda_plugin.engine.image_io import square_crop

GOLDEN = Path(__file__).with_name('data') / 'golden_panda_tiny.json'


def golden_pairs() -> dict:
    """Two fixed pairs with fixed regions: name -> (anchor, target, label map)."""
    pairs = {}
    for name, chains in (('coffee_quadrants', [[('blur', 3)], [('noise', 2)], [('compression', 3)], []]),
                         ('astronaut_quadrants', [[], [('haze', 2)], [('pixelate', 3)], [('darken', 1)]])):
        clean = square_crop(getattr(skimage.data, name.split('_')[0])(), 192)
        label_map = np.zeros((192, 192), np.int32)
        label_map[:96, 96:], label_map[96:, :96], label_map[96:, 96:] = 1, 2, 3
        pairs[name] = (degrade_regions(clean, label_map, chains, seed=7), clean, label_map)
    return pairs


def golden_outputs() -> dict:
    """The shipped weights' graph of every golden pair in both modes, as JSON-able dicts."""
    from panda_plugin.engine.panda.predictor import compare

    outputs = {}
    for (name, (anchor, target, label_map)), reference in itertools.product(golden_pairs().items(), (False, True)):
        graph = compare(anchor, target, masks=label_map, pairwise=not reference)
        outputs[name + ('_reference' if reference else '')] = [{'anchor': [r.anchor.distortion, r.anchor.severity, round(r.anchor.score, 5)],
                          'target': [r.target.distortion, r.target.severity, round(r.target.score, 5)],
                          'relation': r.relation} for r in graph.regions]
    return outputs


if __name__ == '__main__':
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(golden_outputs(), indent=1) + '\n', encoding='utf-8')
    print(f'wrote {GOLDEN}')
