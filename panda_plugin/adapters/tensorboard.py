"""Distortion graphs of a validation pass, written to TensorBoard."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from panda_plugin.adapters.pictures.graph import render_graph
from panda_plugin.core.graph import DistortionGraph
from panda_plugin.core.taxonomy import DISTORTIONS


@dataclass(frozen=True)
class ValidatedImage:
    """One validation image and its graph (restored = anchor, ground truth = target).

    Args:
        name: Image name.
        graph: Its distortion graph.
        restored: HxWx3 uint8 RGB restored image.
        reference: HxWx3 uint8 RGB ground truth.
    """

    name: str
    graph: DistortionGraph
    restored: np.ndarray
    reference: np.ndarray


def log_graphs(writer, dataset: str, step: int, images: list[ValidatedImage], *, score: bool = True,
               pictures: int = 4, worst_regions: int = 10) -> None:
    """Write the graphs of one validation pass.

    Tags: ``metrics/<dataset>/panda`` (mean image score), ``panda/<dataset>/region_scores``
    (histogram of region scores of the restored images), ``panda/<dataset>/area/<distortion>``
    (mean share of the area carrying each distortion, all 15 classes),
    ``panda/<dataset>/worst_regions`` (markdown table) and ``panda/<dataset>/graph/<image>``
    (picture of the graph, for the first ``pictures`` images).

    Args:
        writer: A ``torch.utils.tensorboard.SummaryWriter``.
        dataset: Validation dataset name.
        step: Training iteration.
        images: The validated images with their graphs.
        score: Also write ``metrics/<dataset>/panda``. Default: True.
        pictures: How many images get a picture. Default: 4.
        worst_regions: Rows of the worst-regions table (0: no table). Default: 10.
    """
    if not images:
        return
    prefix = f'panda/{dataset}'
    if score:
        writer.add_scalar(f'metrics/{dataset}/panda', float(np.mean([i.graph.anchor_score for i in images])), step)
    writer.add_histogram(f'{prefix}/region_scores',
                         np.array([r.anchor.score for i in images for r in i.graph.regions]), step)
    areas = [i.graph.distortion_areas('anchor') for i in images]
    for distortion in DISTORTIONS:
        writer.add_scalar(f'{prefix}/area/{distortion}', float(np.mean([a.get(distortion, 0.0) for a in areas])), step)
    if worst_regions:
        writer.add_text(f'{prefix}/worst_regions', worst_regions_table(images, worst_regions), step)
    for image in images[:pictures]:
        picture = render_graph(image.graph, image.restored, image.reference)
        writer.add_image(f'{prefix}/graph/{image.name}', picture, step, dataformats='HWC')


def worst_regions_table(images: list[ValidatedImage], rows: int) -> str:
    """Markdown table of the lowest-scoring regions of the restored images.

    Args:
        images: The validated images with their graphs.
        rows: Number of rows.

    Returns:
        The markdown text (a blank line before the table, as TensorBoard needs).
    """
    regions = sorted(((r.anchor.score, i.name, r) for i in images for r in i.graph.regions),
                     key=lambda item: (item[0], item[1], item[2].id))[:rows]
    lines = [f'Lowest-scoring regions of the restored images ({rows} at most).', '',
             '| image | region | bbox x,y,w,h | area | distortion | severity | score | vs ground truth |',
             '|---|---|---|---|---|---|---|---|']
    for score, name, region in regions:
        box = ','.join(str(v) for v in region.bbox)
        lines.append(f'| {name} | {region.id} | {box} | {region.area} | {region.anchor.distortion} | '
                     f'{region.anchor.severity} | {score:.3f} | {region.relation} |')
    return '\n'.join(lines)
