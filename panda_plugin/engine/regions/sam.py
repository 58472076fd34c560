"""Regions from Segment Anything (SAM) automatic masks, resolved into a partition."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.image_io import load_image


class SamSegmenter:
    """Segment an image with SAM's automatic mask generator and make the masks a partition.

    SAM's masks overlap and leave gaps. They are painted in order of decreasing quality
    (``predicted_iou * stability_score``), each onto the pixels no better mask has claimed;
    pieces smaller than ``min_area`` are dropped. Unclaimed pixels then form regions of their
    own, one per connected component, except components smaller than ``min_area``, which join
    the region they share the longest border with. Every pixel ends up in a region; an image
    on which SAM finds nothing is one region.

    Args:
        checkpoint: Path to an official SAM checkpoint (a ``state_dict`` saved with torch).
        model_type: Key of ``segment_anything.sam_model_registry``: ``'vit_b'``, ``'vit_l'``,
            ``'vit_h'`` or ``'default'``. Default: ``'vit_b'``.
        points_per_side: Point prompts per image side for the mask generator. Default: 16.
        device: Torch device the model runs on. Default: ``'cpu'``.
        min_area: Smallest region, as a fraction of the image area. Default: 0.002.
        **generator_kwargs: Further ``SamAutomaticMaskGenerator`` options, such as
            ``pred_iou_thresh`` or ``stability_score_thresh``.
    """

    def __init__(self, checkpoint, model_type: str = 'vit_b', points_per_side: int = 16,
                 device: str = 'cpu', min_area: float = 0.002, **generator_kwargs):
        segment_anything = _import_segment_anything()
        from panda_plugin.engine.checkpoints import load_tensors

        registry = segment_anything.sam_model_registry
        if model_type not in registry:
            raise PandaInputError(f'SAM model_type {model_type!r}; accepted: {", ".join(sorted(registry))}')
        path = Path(checkpoint)
        state = load_tensors(path, 'SAM checkpoint')
        model = registry[model_type]()
        try:
            model.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as error:
            raise PandaInputError(
                f'SAM checkpoint {str(path)!r} does not fit model_type {model_type!r}: '
                f'{str(error).splitlines()[0]}') from None
        self._setup(model, points_per_side, device, min_area, generator_kwargs)

    @classmethod
    def from_model(cls, sam, points_per_side: int = 16, device: str = 'cpu',
                   min_area: float = 0.002, **generator_kwargs) -> SamSegmenter:
        """Make a segmenter around an already built ``segment_anything.modeling.Sam`` model.

        Args:
            sam: The SAM model.
            points_per_side: Point prompts per image side. Default: 16.
            device: Torch device the model runs on. Default: ``'cpu'``.
            min_area: Smallest region, as a fraction of the image area. Default: 0.002.
            **generator_kwargs: Further ``SamAutomaticMaskGenerator`` options.

        Returns:
            The segmenter.
        """
        segmenter = cls.__new__(cls)
        segmenter._setup(sam, points_per_side, device, min_area, generator_kwargs)
        return segmenter

    def _setup(self, sam, points_per_side: int, device: str, min_area: float,
               generator_kwargs: dict) -> None:
        if not 0 <= min_area < 1:
            raise PandaInputError(f'SAM min_area={min_area}; accepted: 0 <= min_area < 1')
        if points_per_side < 1:
            raise PandaInputError(f'SAM points_per_side={points_per_side}; accepted: 1 or more')
        segment_anything = _import_segment_anything()
        self.min_area = min_area
        self.generator = segment_anything.SamAutomaticMaskGenerator(
            sam.to(device).eval(), points_per_side=points_per_side, output_mode='binary_mask',
            **generator_kwargs)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Segment one image.

        Args:
            image: HxWx3 uint8 RGB array.

        Returns:
            int32 HxW label map with regions ``0..N-1`` covering every pixel.
        """
        image = load_image(image)
        records = self.generator.generate(image)
        return masks_to_partition(records, image.shape[:2], self.min_area)


def masks_to_partition(records: list[dict], size: tuple[int, int], min_area: float) -> np.ndarray:
    """Resolve overlapping masks into a label map that covers every pixel.

    Args:
        records: Mask records as ``SamAutomaticMaskGenerator.generate`` returns them, each
            with an HxW boolean ``segmentation``, ``predicted_iou`` and ``stability_score``.
        size: ``(height, width)`` of the image.
        min_area: Smallest region, as a fraction of the image area.

    Returns:
        int32 HxW label map with regions ``0..N-1`` and no ``-1``; regions from masks come
        first, in order of quality, then regions made of unclaimed pixels.
    """
    labels = np.full(size, -1, np.int32)
    min_pixels = min_area * labels.size
    quality = [-record['predicted_iou'] * record['stability_score'] for record in records]
    count = 0
    for index in np.argsort(quality, kind='stable'):
        piece = np.asarray(records[index]['segmentation'], bool) & (labels < 0)
        area = int(piece.sum())
        if area and area >= min_pixels:
            labels[piece] = count
            count += 1

    found, components, stats, _ = cv2.connectedComponentsWithStats(
        (labels < 0).astype(np.uint8), connectivity=4)
    component_areas = stats[1:, cv2.CC_STAT_AREA]
    kept = np.flatnonzero(component_areas >= min_pixels) + 1
    lookup = np.full(found, -1, np.int32)
    lookup[kept] = count + np.arange(len(kept), dtype=np.int32)
    unclaimed = components > 0
    labels[unclaimed] = lookup[components[unclaimed]]
    if (labels < 0).any():
        _absorb_small_components(labels, components)
    return labels


def _absorb_small_components(labels: np.ndarray, components: np.ndarray) -> None:
    """Give each still unlabelled component the label it shares the longest border with."""
    sources, targets = [], []
    for first, second in ((np.s_[:, :-1], np.s_[:, 1:]), (np.s_[:-1], np.s_[1:])):
        for here, there in ((first, second), (second, first)):
            touching = (labels[here] < 0) & (labels[there] >= 0)
            sources.append(components[here][touching])
            targets.append(labels[there][touching])
    sources, targets = np.concatenate(sources), np.concatenate(targets)
    pairs, counts = np.unique(np.stack([sources, targets]), axis=1, return_counts=True)
    # Longest border first, then smaller label, so each component keeps its best neighbour.
    order = np.lexsort((pairs[1], -counts, pairs[0]))
    component_ids, first = np.unique(pairs[0, order], return_index=True)
    lookup = np.full(int(components.max()) + 1, -1, np.int32)
    lookup[component_ids] = pairs[1, order][first]
    small = labels < 0
    labels[small] = lookup[components[small]]


def _import_segment_anything():
    try:
        import segment_anything
    except ImportError as error:
        raise ImportError('SAM regions need the segment-anything package: '
                          'pip install segment-anything') from error
    return segment_anything
