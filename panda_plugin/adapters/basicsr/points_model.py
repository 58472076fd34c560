"""BasicSR model ``PointDistanceModel``: trains ``PointDistanceNet`` from clicks alone (and, optionally, click pseudo-labels)."""
from __future__ import annotations

from collections import OrderedDict

import torch
from basicsr.losses import build_loss
from basicsr.models.base_model import BaseModel

from panda_plugin.adapters.basicsr.scalar_validation import ScalarValidationMixin
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.points.models.distance_loss import PointDistanceLoss
from panda_plugin.engine.points.panoptic_quality import PanopticQuality

#: Batch entries used for training; ``panoptic`` is read by validation only.
_TRAIN_KEYS = ('image', 'points', 'valid', 'stuff')


class PointDistanceModel(ScalarValidationMixin, BaseModel):
    """Trains the learned click distance from ``PointsDataset`` batches.

    Options: ``network_g`` (type PointDistanceNet), ``train.loss_opt`` (type
    PointDistanceLoss), ``train.optim_g`` (``Adam`` or ``AdamW``), ``train.scheduler``,
    ``val.metrics`` (any of ``pq``, ``sq``, ``rq``: class-agnostic panoptic quality of the
    pseudo-labels against the dense ground truth, which training never sees).
    """

    def __init__(self, opt: dict):
        super().__init__(opt)
        self.build_network_g(opt)
        if self.is_train:
            self.net_g.train()
            loss_opt = self.opt['train'].get('loss_opt')
            self.criterion = build_loss(dict(loss_opt)) if loss_opt else PointDistanceLoss()
            self.criterion = self.criterion.to(self.device)
            optim_opt = dict(self.opt['train']['optim_g'])
            kind = optim_opt.pop('type')
            optimizers = {'Adam': torch.optim.Adam, 'AdamW': torch.optim.AdamW}
            if kind not in optimizers:
                raise PandaInputError(f'optimizer {kind!r} is not supported; accepted: Adam, AdamW')
            self.optimizer_g = optimizers[kind]([p for p in self.net_g.parameters() if p.requires_grad],
                                                **optim_opt)
            self.optimizers.append(self.optimizer_g)
            self.setup_schedulers()

    def feed_data(self, data: dict) -> None:
        """Keep one batch on the model's device, trimmed to its most clicks."""
        count = int(data['valid'].sum(1).max())
        self.batch = {k: data[k][:, :count].to(self.device) for k in ('points', 'valid', 'stuff')}
        self.batch['image'] = data['image'].to(self.device)
        if 'panoptic' in data:
            self.panoptic = data['panoptic']
        if getattr(self.get_bare_model(self.net_g), 'geodesic_prior', False):
            from panda_plugin.engine.points.geodesic import batch_geodesic_distances

            self.batch['prior'] = batch_geodesic_distances(self.batch['image'], self.batch['points'],
                                                           self.batch['valid'])
        if 'pseudo' in data:
            from panda_plugin.engine.points.pseudo_labels import renumber_to_clicks

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

    def dist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """Validation on rank 0 only."""
        if self.opt['rank'] == 0:
            self.nondist_validation(dataloader, current_iter, tb_logger, save_img)

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """Panoptic quality of the pseudo-labels, logged as ``metrics/<name>/<metric>``."""
        def regions(data):
            self.feed_data(data)
            return zip(self._forward()[-1].argmin(1).cpu().numpy(), self.panoptic.numpy())

        self.validate_regions(dataloader, current_iter, tb_logger, regions)

    def validate_regions(self, dataloader, current_iter, tb_logger, regions) -> None:
        """PQ, SQ and RQ (those of ``val.metrics``) of label maps against the dense ground truth.

        Args:
            dataloader: Validation loader.
            current_iter: Iteration, for the log.
            tb_logger: TensorBoard logger or None.
            regions: ``batch -> iterable of (label map, ground truth)``, run with the network
                in eval mode and without gradients.
        """
        wanted = list(self.opt['val'].get('metrics') or {'pq': {}})
        unknown = [m for m in wanted if m not in ('pq', 'sq', 'rq')]
        if unknown:
            raise PandaInputError(f'unknown validation metrics {unknown}; accepted: pq, sq, rq')
        meter = PanopticQuality()
        self.net_g.eval()
        with torch.no_grad():
            for data in dataloader:
                for label_map, truth in regions(data):
                    meter.update(label_map, truth)
        self.net_g.train()
        results = meter.result()
        self.report_metrics(dataloader.dataset.opt['name'], {m: results[m] for m in wanted}, current_iter,
                            tb_logger, decimals=2)
