"""``ClickModel``: what the BasicSR models of the click networks share (``ClickBoundaryModel``,
``PanopticSegmenterModel``): the optimiser, the batches of ``PointsDataset``, panoptic quality as validation."""
from __future__ import annotations

import torch
from basicsr.losses import build_loss
from basicsr.models.base_model import BaseModel

from panda_plugin.adapters.basicsr.random_state import RandomStateMixin
from panda_plugin.adapters.basicsr.scalar_validation import ScalarValidationMixin
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.points.panoptic_quality import PanopticQuality


class ClickModel(RandomStateMixin, ScalarValidationMixin, BaseModel):
    """The training loop of a click network on ``PointsDataset`` batches.

    Options: ``network_g``, ``train.loss_opt`` (a subclass names its default), ``train.optim_g``
    (``Adam`` or ``AdamW``), ``train.scheduler``, ``val.metrics`` (any of ``pq``, ``sq``, ``rq``:
    class-agnostic panoptic quality against the dense ground truth, which training never sees).
    Subclasses give ``optimize_parameters`` and ``nondist_validation``.
    """

    def __init__(self, opt: dict):
        super().__init__(opt)
        self.build_network_g(opt)
        if self.is_train:
            self.net_g.train()
            self.criterion = build_loss(dict(self.opt['train']['loss_opt'])).to(self.device)
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

    def dist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """Validation on rank 0 only."""
        if self.opt['rank'] == 0:
            self.nondist_validation(dataloader, current_iter, tb_logger, save_img)

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
