"""PANDA in TensorBoard: the distortion graphs of a validation pass (BasicSR monitoring) and
the region summaries of a DP lambda sweep (``panda dp-sweep --tensorboard``), one writer class."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from panda_plugin.adapters.pictures.graph import reference_picture
from panda_plugin.adapters.score_tables import REGION_NUMBERS, region_numbers
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


def region_tag(dataset: str, image: str, region: int, number: str = 'score') -> str:
    """TensorBoard tag of one region's curve.

    Args:
        dataset: Validation dataset name.
        image: Image name.
        region: Region id.
        number: One of ``REGION_NUMBERS``. Default: ``'score'``.

    Returns:
        ``panda/<dataset>/<image>/region_<id>`` for the score, with ``/<number>`` appended
        for the other numbers.
    """
    return f'panda/{dataset}/{image}/region_{region}{_suffix(number)}'


def _suffix(number: str) -> str:
    return '' if number == 'score' else f'/{number}'


@dataclass
class GraphBoard:
    """Writes the graphs of each validation pass (``write``) and DP lambda sweeps
    (``write_sweep``); remembers, per dataset, the distortions seen so far (their area curves
    go on at 0 once they are gone) and the region charts laid out.

    Args:
        pictures: How many images get a picture. Default: 4.
        worst_regions: Rows of the worst-regions table (0: no table). Default: 10.
        region_curves: Most per-region curves per validation: the regions of the validation
            images in order, region ids ascending (0: none). Default: 100.
    """

    pictures: int = 4
    worst_regions: int = 10
    region_curves: int = 100
    _distortions: dict = field(default_factory=dict, init=False, repr=False)
    _charts: dict = field(default_factory=dict, init=False, repr=False)
    _laid_out: int = field(default=0, init=False, repr=False)

    def write(self, writer, dataset: str, step: int, images: list[ValidatedImage], *, score: bool = True) -> None:
        """Write one validation pass.

        Tags: ``metrics/<dataset>/panda`` (mean image score), ``panda/<dataset>/region_scores``
        (histogram of region scores of the restored images), ``panda/<dataset>/area/<distortion>``
        (mean share of the area carrying each distortion seen so far in the run),
        ``panda/<dataset>/<image>/region_<id>`` (score of each region, ``region_curves`` at
        most, also drawn together per image in the Custom Scalars tab),
        ``panda/<dataset>/worst_regions`` (markdown table) and ``panda/<dataset>/graph/<image>``
        (restored | reference | score map, for the first ``pictures`` images).

        Args:
            writer: A ``torch.utils.tensorboard.SummaryWriter``.
            dataset: Validation dataset name.
            step: Training iteration.
            images: The validated images with their graphs.
            score: Also write ``metrics/<dataset>/panda``. Default: True.
        """
        if not images:
            return
        prefix = f'panda/{dataset}'
        if score:
            writer.add_scalar(f'metrics/{dataset}/panda', float(np.mean([i.graph.anchor_score for i in images])), step)
        writer.add_histogram(f'{prefix}/region_scores',
                             np.array([r.anchor.score for i in images for r in i.graph.regions]), step)
        areas = [i.graph.distortion_areas('anchor') for i in images]
        seen = self._distortions.setdefault(dataset, set())
        seen.update(name for area in areas for name, share in area.items() if share > 0)
        for distortion in sorted(seen, key=DISTORTIONS.index):
            writer.add_scalar(f'{prefix}/area/{distortion}', float(np.mean([a.get(distortion, 0.0) for a in areas])),
                              step)
        self._write_region_curves(writer, dataset, step, images)
        if self.worst_regions:
            writer.add_text(f'{prefix}/worst_regions', worst_regions_table(images, self.worst_regions), step)
        for image in images[:self.pictures]:
            title = f'{image.name} @ {step}: restored vs reference, image score {image.graph.anchor_score:.4f}'
            picture = reference_picture(image.graph, image.restored, image.reference, title=title)
            writer.add_image(f'{prefix}/graph/{image.name}', picture, step, dataformats='HWC')

    def write_sweep(self, writer, report: dict, images: dict) -> None:
        """Write a DP lambda sweep (``engine.dp.sweep``), step = 100 lambda.

        Tags: ``dp_mean/<measure>`` (mean of each finite measure at each lambda), ``dp/<image>``
        (the restoration at each lambda) and ``dp_regions/<image>`` (markdown table of the region
        summaries between the lambda ends, at step 0).

        Args:
            writer: A ``torch.utils.tensorboard.SummaryWriter``.
            report: The sweep report (``sweep.json``).
            images: ``{image name: {method: HxWx3 uint8 image}}``.
        """
        for method, run in report['runs'].items():
            if not method.startswith('lambda='):
                continue
            step = round(100 * float(method.split('=')[1]))
            for key, value in run['mean'].items():
                if np.isfinite(value):
                    writer.add_scalar(f'dp_mean/{key}', value, step)
            for name, seen in images.items():
                writer.add_image(f'dp/{name}', seen[method], step, dataformats='HWC')
        for name, summary in report.get('regions', {}).items():
            low, high = summary['low'], summary['high']
            lines = [f'| region | kind | gradient | PANDA gain | MSE increase | relation | fidelity {low} -> {high} '
                     f'| texture {low} -> {high} |', '|---|---|---|---|---|---|---|---|']
            lines += [f"| {r['id']} | {r['kind']} | {r['gradient']:.1f} | {r['perceptual_gain']:+.3f} | "
                      f"{r['fidelity_loss']:+.5f} | {r['relation_high_vs_low']} | {r['fidelity'][low]:.3f} -> "
                      f"{r['fidelity'][high]:.3f} | {r['texture'][low]:.3f} -> {r['texture'][high]:.3f} |"
                      for r in summary['regions']]
            writer.add_text(f'dp_regions/{name}', '\n'.join(lines), 0)

    def _write_region_curves(self, writer, dataset: str, step: int, images: list[ValidatedImage]) -> None:
        charts = self._charts.setdefault(dataset, {})
        left = self.region_curves
        for image in images:
            for region in image.graph.regions[:left]:
                for number, value in region_numbers(region.anchor).items():
                    writer.add_scalar(region_tag(dataset, image.name, region.id, number), value, step)
            if left and image.name not in charts:
                charts[image.name] = ['^' + re.escape(f'panda/{dataset}/{image.name}/') + r'region_\d+'
                                      + re.escape(_suffix(number)) + '$' for number in REGION_NUMBERS]
            left -= min(left, len(image.graph))
        laid_out = sum(map(len, self._charts.values()))
        if laid_out != self._laid_out:
            self._laid_out = laid_out
            writer.add_custom_scalars({
                f'PANDA regions: {name}': {
                    f'{image}: {number} per region': ['Multiline', [pattern]]
                    for image, patterns in images_charts.items() for number, pattern in zip(REGION_NUMBERS, patterns)}
                for name, images_charts in self._charts.items()})


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
    head = ('image', 'region', 'bbox x,y,w,h', 'area', 'distortion', 'severity', *REGION_NUMBERS, 'vs ground truth')
    lines = [f'Lowest-scoring regions of the restored images ({rows} at most).', '',
             '| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for _, name, region in regions:
        box = ','.join(str(v) for v in region.bbox)
        numbers = region_numbers(region.anchor)
        lines.append(f'| {name} | {region.id} | {box} | {region.area} | {region.anchor.distortion} | '
                     f'{region.anchor.severity} | '
                     + ' | '.join(f'{numbers[n]:.3f}' if n in numbers else '-' for n in REGION_NUMBERS)
                     + f' | {region.relation} |')
    return '\n'.join(lines)
