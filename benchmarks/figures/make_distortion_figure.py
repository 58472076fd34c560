"""Draw docs/images/distortions.png: every distortion at every severity on an astronaut crop.

Each distortion is applied to the whole 512x512 astronaut (so lengths are exactly the
512-pixel reference values) and the same 128x128 crop is shown, one image pixel per figure
pixel, for clean, minor, moderate and severe.

Usage: python -m benchmarks.figures.make_distortion_figure [--output docs/images/distortions.png]
"""
from __future__ import annotations

import argparse
from io import BytesIO
from pathlib import Path

from matplotlib.figure import Figure
from PIL import Image
from skimage import data

from panda_plugin.core.taxonomy import DISTORTION_TYPES, SEVERITIES
from panda_plugin.engine.distortions import apply_distortion

#: Crop shown in every cell: rows, columns of the 512x512 astronaut.
CROP = (slice(40, 168), slice(150, 278))
#: Figure pixels per inch; one cell is 128 figure pixels.
DPI = 100
#: Left label column and top header, in inches.
LABEL_WIDTH, HEADER = 1.1, 0.3


def render(output: Path) -> None:
    """Render the grid and save it as a 256-colour PNG.

    Args:
        output: Destination file.
    """
    image = data.astronaut()
    cell = (CROP[0].stop - CROP[0].start) / DPI
    width = LABEL_WIDTH + len(SEVERITIES) * cell
    height = HEADER + len(DISTORTION_TYPES) * cell
    figure = Figure(figsize=(width, height), dpi=DPI)
    for row, name in enumerate(DISTORTION_TYPES):
        for col, severity in enumerate(SEVERITIES):
            left = (LABEL_WIDTH + col * cell) / width
            bottom = 1 - (HEADER + (row + 1) * cell) / height
            axes = figure.add_axes((left, bottom, cell / width, cell / height))
            axes.imshow(apply_distortion(image, name, col)[CROP], interpolation='none')
            axes.set_xticks([])
            axes.set_yticks([])
            if row == 0:
                axes.set_title(severity, fontsize=9, pad=3)
            if col == 0:
                axes.set_ylabel(name, fontsize=9, rotation=0, ha='right', va='center', labelpad=4)
    buffer = BytesIO()
    figure.savefig(buffer, format='png', dpi=DPI)
    buffer.seek(0)
    output.parent.mkdir(parents=True, exist_ok=True)
    Image.open(buffer).convert('RGB').quantize(colors=256, dither=Image.Dither.NONE).save(
        output, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--output', type=Path,
                        default=Path(__file__).resolve().parents[2] / 'docs' / 'images'
                        / 'distortions.png', help='PNG file to write')
    render(parser.parse_args().output)


if __name__ == '__main__':
    main()
