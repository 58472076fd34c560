"""BasicSR model ``ClickBoundaryModel``: trains ``ClickBoundaryNet`` from clicks alone."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from panda_plugin.adapters.basicsr.points_model import ClickModel
from panda_plugin.engine.image_io import tensor_to_rgb8
from panda_plugin.engine.points.learned import boundary_regions


class ClickBoundaryModel(ClickModel):
    """Trains the learned border cost of the click distance from ``PointsDataset`` batches.

    Options: ``network_g`` (type ClickBoundaryNet), ``train.loss_opt`` (type
    ClickSeparationLoss), ``train.optim_g``, ``train.scheduler``, ``val.metrics`` (``pq``, ``sq``,
    ``rq`` of the click regions against the dense ground truth, which training never sees).
    """

    def __init__(self, opt: dict):
        if opt.get('is_train') and not (opt['train'].get('loss_opt') or {}).get('type'):
            opt['train']['loss_opt'] = {'type': 'ClickSeparationLoss'}
        super().__init__(opt)

    def optimize_parameters(self, current_iter: int) -> None:
        """One optimisation step: the loss sees the image and the clicks only."""
        self.optimizer_g.zero_grad()
        b = self.batch
        loss, terms = self.criterion(self.net_g(b['image']), b['image'], b['points'], b['valid'])
        loss.backward()
        self.optimizer_g.step()
        self.log_dict = self.reduce_loss_dict(OrderedDict(l_total=loss.detach(), **terms))

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """Panoptic quality of the click regions, logged as ``metrics/<name>/<metric>``."""
        network = self.get_bare_model(self.net_g)

        def regions(data):
            for image, points, valid, truth in zip(tensor_to_rgb8(data['image']), data['points'].numpy(),
                                                   data['valid'].numpy(), data['panoptic'].numpy()):
                yield boundary_regions(network, image, points[valid].round().astype(np.int64)), truth

        self.validate_regions(dataloader, current_iter, tb_logger, regions)
