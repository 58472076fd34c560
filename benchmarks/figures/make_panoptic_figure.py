"""docs/images/panoptic_regions.png: regions without clicks on held-out photographs (the
panoptic segmenter beside the superpixel proposer), and the geodesic click regions of the
kind it was trained on.

    python -m benchmarks.figures.make_panoptic_figure [--weights PATH] [--out docs/images/panoptic_regions.png]
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np

from benchmarks.figures import stack_rows
from panda_plugin.adapters.pictures.clicks import render_click_regions
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.image_io import save_image
from panda_plugin.engine.points import click_regions, read_clicks
from panda_plugin.engine.points.panoptic import PanopticSegmenter
from panda_plugin.engine.regions import SuperpixelSegmenter

#: The held-out photographs and clicks of ``make_points_figure.py``.
SCENES = (
    ('skimage', 'coffee', '280,150;250,60;300,215;120,280;365,285;530,330,stuff'),
    ('matplotlib', 'grace_hopper.jpg', '60,200,stuff;450,200,stuff;250,120;260,270;450,470;250,400;390,515'),
)


def _panel(picture: np.ndarray, title: str, height: int = 240) -> np.ndarray:
    for colour, thickness in (((0, 0, 0), 4), ((255, 255, 255), 2)):
        cv2.putText(picture, title, (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.9, colour, thickness, cv2.LINE_AA)
    scale = height / picture.shape[0]
    return cv2.resize(picture, (round(picture.shape[1] * scale), height), interpolation=cv2.INTER_AREA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--weights', default=None, help='panoptic weights (default: shipped panoptic-tiny)')
    parser.add_argument('--out', default='docs/images/panoptic_regions.png')
    args = parser.parse_args()
    proposers = {'panoptic (no clicks)': PanopticSegmenter(args.weights),
                 'superpixel (no clicks)': SuperpixelSegmenter()}
    none = np.zeros((0, 2), np.int64)
    rows = []
    for source, name, spec in SCENES:
        image = packaged_image(source, name)
        clicks = read_clicks(spec, image.shape[:2])
        panels = [_panel(render_click_regions(image, click_regions(image, clicks, 'geodesic'), clicks.xy),
                         'geodesic (clicks)')]
        for title, segmenter in proposers.items():
            labels = segmenter(image)
            panels.append(_panel(render_click_regions(image, labels, none), f'{title}: {labels.max() + 1}'))
        rows.append(np.concatenate(panels, 1))
    save_image(args.out, stack_rows(rows))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
