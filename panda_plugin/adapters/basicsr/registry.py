"""The plugin's entries in BasicSR's registries: one explicit function registers them all."""
from __future__ import annotations

from panda_plugin.core.errors import PandaInputError


def registered_objects() -> dict:
    """What the plugin adds to BasicSR, by registry.

    Returns:
        ``{'arch' | 'loss' | 'dataset' | 'metric' | 'model': [objects]}``.
    """
    from panda_plugin.adapters.basicsr.boundary_model import ClickBoundaryModel
    from panda_plugin.adapters.basicsr.dp_model import DPRestorationModel
    from panda_plugin.adapters.basicsr.metric import calculate_panda
    from panda_plugin.adapters.basicsr.panda_model import PandaModel
    from panda_plugin.adapters.basicsr.panoptic_model import PanopticSegmenterModel
    from panda_plugin.adapters.basicsr.sr_model import PandaSRModel
    from panda_plugin.engine.data.reference_images import ReferenceImageDataset
    from panda_plugin.engine.panda.data.dataset import PandaSetDataset
    from panda_plugin.engine.panda.models.loss import PandaLoss
    from panda_plugin.engine.panda.models.panda_arch import PANDA
    from panda_plugin.engine.panda.region_loss import PandaRegionLoss
    from panda_plugin.engine.points.models.boundary_arch import ClickBoundaryNet
    from panda_plugin.engine.points.models.panoptic_arch import PanopticSegmenterNet
    from panda_plugin.engine.points.models.panoptic_loss import PanopticEmbeddingLoss
    from panda_plugin.engine.points.models.separation_loss import ClickSeparationLoss
    from panda_plugin.engine.points.points_dataset import PointsDataset

    return {'arch': [PANDA, ClickBoundaryNet, PanopticSegmenterNet],
            'loss': [PandaLoss, PandaRegionLoss, ClickSeparationLoss, PanopticEmbeddingLoss],
            'dataset': [PandaSetDataset, PointsDataset, ReferenceImageDataset],
            'metric': [calculate_panda],
            'model': [PandaModel, PandaSRModel, ClickBoundaryModel, PanopticSegmenterModel,
                      DPRestorationModel]}


def register_plugin() -> None:
    """Register every PANDA arch, loss, dataset, metric and model in BasicSR (idempotent).

    Raises:
        PandaInputError: BasicSR is missing, or another object already holds one of the names.
    """
    register_objects(registered_objects())  # imports BasicSR, or says how to install it


def register_objects(objects: dict) -> None:
    """Register objects in BasicSR's registries by their class or function name (idempotent).

    Args:
        objects: ``{'arch' | 'loss' | 'dataset' | 'metric' | 'model': [objects]}``.

    Raises:
        PandaInputError: Another object already holds one of the names.
    """
    from basicsr.utils import registry

    for kind, entries in objects.items():
        table = getattr(registry, f'{kind.upper()}_REGISTRY')
        for obj in entries:
            if obj.__name__ in table:
                holder = table.get(obj.__name__)
                if holder is obj:
                    continue
                raise PandaInputError(
                    f'BasicSR {kind} registry already has {obj.__name__!r} '
                    f'({holder.__module__}.{holder.__qualname__}); the plugin cannot register '
                    f'{obj.__module__}.{obj.__qualname__} under the same name')
            table.register(obj)
