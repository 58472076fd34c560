"""BasicSR model ``PointDistanceModel``: trains ``PointDistanceNet`` from clicks alone (and, optionally, click
pseudo-labels)."""
from __future__ import annotations

from collections import OrderedDict

from panda_plugin.adapters.basicsr.points_model import ClickModel
from panda_plugin.engine.points.geodesic import batch_geodesic_distances
from panda_plugin.engine.points.pseudo_labels import renumber_to_clicks


class PointDistanceModel(ClickModel):
    """Trains the learned click distance from ``PointsDataset`` batches.

    Options: ``network_g`` (type PointDistanceNet), ``train.loss_opt`` (type
    PointDistanceLoss, the default), ``train.optim_g`` (``Adam`` or ``AdamW``), ``train.scheduler``,
    ``val.metrics`` (any of ``pq``, ``sq``, ``rq``: class-agnostic panoptic quality of the
    pseudo-labels against the dense ground truth, which training never sees).
    """

    def __init__(self, opt: dict):
        if opt.get('is_train') and not (opt['train'].get('loss_opt') or {}).get('type'):
            opt['train']['loss_opt'] = {**(opt['train'].get('loss_opt') or {}), 'type': 'PointDistanceLoss'}
        super().__init__(opt)

    def feed_data(self, data: dict) -> None:
        """Keep one batch on the model's device, trimmed to its most clicks, with the geodesic prior
        (when the network takes one) and the pseudo-labels renumbered to the kept clicks."""
        super().feed_data(data)
        if getattr(self.get_bare_model(self.net_g), 'geodesic_prior', False):
            self.batch['prior'] = batch_geodesic_distances(self.batch['image'], self.batch['points'],
                                                           self.batch['valid'])
        if 'pseudo' in data:
            self.batch['pseudo'] = renumber_to_clicks(data['pseudo'].to(self.device), self.batch['points'],
                                                      self.batch['valid'])

    def _forward(self) -> list:
        b = self.batch
        return self.net_g(b['image'], b['points'], b['valid'], b['stuff'], prior=b.get('prior'))

    def optimize_parameters(self, current_iter: int) -> None:
        """One optimisation step: the loss sees the image and the clicks only."""
        self.optimizer_g.zero_grad()
        b = self.batch
        loss, terms = self.criterion(self._forward(), b['image'], b['points'], b['valid'], pseudo=b.get('pseudo'))
        loss.backward()
        self.optimizer_g.step()
        self.log_dict = self.reduce_loss_dict(OrderedDict(l_total=loss.detach(), **terms))

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """Panoptic quality of the pseudo-labels, logged as ``metrics/<name>/<metric>``."""
        def regions(data):
            self.feed_data(data)
            return zip(self._forward()[-1].argmin(1).cpu().numpy(), self.panoptic.numpy())

        self.validate_regions(dataloader, current_iter, tb_logger, regions)
