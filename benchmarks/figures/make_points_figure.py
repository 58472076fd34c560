"""docs/images/points_regions.png: regions from clicks on held-out photographs, per method.

    python -m benchmarks.figures.make_points_figure [--weights PATH] [--out docs/images/points_regions.png]
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

#: (package, image, clicks): held-out bench photographs, one click per object.
SCENES = (
    ('skimage', 'coffee', '280,150;250,60;300,215;120,280;365,285;530,330,stuff'),
    ('matplotlib', 'grace_hopper.jpg', '60,200,stuff;450,200,stuff;250,120;260,270;450,470;250,400;390,515'),
)
METHODS = ('euclidean', 'geodesic', 'learned')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--weights', default=None)
    parser.add_argument('--out', default='docs/images/points_regions.png')
    args = parser.parse_args()
    rows = []
    for source, name, spec in SCENES:
        image = packaged_image(source, name)
        clicks = read_clicks(spec, image.shape[:2])
        panels = []
        for method in METHODS:
            labels = click_regions(image, clicks, method, weights=args.weights if method == 'learned' else None)
            picture = render_click_regions(image, labels, clicks.xy)
            cv2.putText(picture, method, (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 4, cv2.LINE_AA)
            cv2.putText(picture, method, (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA)
            scale = 240 / image.shape[0]
            panels.append(cv2.resize(picture, (round(image.shape[1] * scale), 240), interpolation=cv2.INTER_AREA))
        rows.append(np.concatenate(panels, 1))
    save_image(args.out, stack_rows(rows))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
