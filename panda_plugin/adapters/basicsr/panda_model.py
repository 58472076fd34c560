"""BasicSR model ``PandaModel``: trains and validates the ``PANDA`` arch."""
from __future__ import annotations

from collections import OrderedDict

import torch
from basicsr.losses import build_loss
from basicsr.models.base_model import BaseModel

from panda_plugin.adapters.basicsr.cpu import CPUDistributedMixin
from panda_plugin.adapters.basicsr.final_validation import FinalValidationMixin
from panda_plugin.adapters.basicsr.random_state import RandomStateMixin
from panda_plugin.adapters.basicsr.scalar_validation import ScalarValidationMixin
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.region_labels import LABEL_FIELDS, RegionLabels
from panda_plugin.engine.panda.evaluation import METRICS, RegionAccumulator
from panda_plugin.engine.panda.models.heads import decode
from panda_plugin.engine.panda.models.loss import PandaLoss

#: Batch entries the model uses.
_BATCH_KEYS = ('region_valid', 'label_map', 'anchor', 'target', *LABEL_FIELDS)


class PandaModel(CPUDistributedMixin, RandomStateMixin, FinalValidationMixin, ScalarValidationMixin, BaseModel):
    """Trains PANDA from ``PandaSetDataset`` batches.

    Options: ``network_g`` (type PANDA), ``train.loss_opt`` (type PandaLoss; default the
    paper's weights), ``train.optim_g`` (``Adam`` or ``AdamW``), ``train.scheduler``,
    ``train.trainable`` (a list of parameter-name prefixes, e.g. ``[heads.distortion]``: only
    those are trained, and the rest of the network runs as at inference, batch-norm statistics
    fixed), ``find_unused_parameters`` (distributed runs; default true here),
    ``val.metrics`` (any of ``relation_acc``, ``relation_f1``, ``distortion_acc``,
    ``distortion_f1``, ``severity_acc``, ``severity_f1``, ``srcc``, ``plcc``).
    """

    def __init__(self, opt: dict):
        super().__init__(opt)
        # a timm feature extractor may hold weights its features do not use (the encoder drops
        # the unused blocks of the MobileNetV3 and EfficientNet kinds, not of every model);
        # DistributedDataParallel must be told when parameters get no gradient.
        opt.setdefault('find_unused_parameters', True)
        self.build_network_g(opt)
        self.trainable = ()
        if self.is_train:
            self.init_training_settings()

    def init_training_settings(self) -> None:
        """Trainable parameters, loss, optimizer and scheduler from ``opt['train']``."""
        train_opt = self.opt['train']
        self.trainable = trainable_prefixes(train_opt.get('trainable'), self.get_bare_model(self.net_g))
        self._training_mode()
        self.ema_decay = 0
        loss_opt = train_opt.get('loss_opt')
        self.criterion = build_loss(dict(loss_opt)).to(self.device) if loss_opt else PandaLoss().to(self.device)
        self.setup_optimizers()
        self.setup_schedulers()

    def setup_optimizers(self) -> None:
        """Adam or AdamW over the trainable parameters."""
        optim_opt = dict(self.opt['train']['optim_g'])
        kind = optim_opt.pop('type')
        params = [p for p in self.net_g.parameters() if p.requires_grad]
        optimizers = {'Adam': torch.optim.Adam, 'AdamW': torch.optim.AdamW}
        if kind not in optimizers:
            raise PandaInputError(f'optimizer {kind!r} is not supported; accepted: Adam, AdamW')
        self.optimizer_g = optimizers[kind](params, **optim_opt)
        self.optimizers.append(self.optimizer_g)

    def feed_data(self, data: dict) -> None:
        """Keep one batch on the model's device."""
        self.batch = {k: v.to(self.device) for k, v in data.items() if k in _BATCH_KEYS}

    def _forward(self, net=None) -> dict:
        regions = int(self.batch['region_valid'].sum(1).max())
        net = self.net_g if net is None else net
        return net(self.batch['anchor'], self.batch['target'], self.batch['label_map'], regions)

    def optimize_parameters(self, current_iter: int) -> None:
        """One optimisation step on the current batch."""
        self.optimizer_g.zero_grad()
        loss, terms = self.criterion(self._forward(), self.batch)
        loss.backward()
        self.optimizer_g.step()
        self.log_dict = self.reduce_loss_dict(OrderedDict(l_total=loss.detach(), **terms))

    def test(self) -> dict:
        """Predictions for the current batch in eval mode, by the bare network (in distributed
        runs only rank 0 validates, so the wrapper's buffer broadcast must not run)."""
        net = self.get_bare_model(self.net_g)
        net.eval()
        with torch.no_grad():
            outputs = self._forward(net)
        self._training_mode()
        return outputs

    def _training_mode(self) -> None:
        """Train mode, or inference mode when only ``train.trainable`` parts are trained (their
        layers behave alike in both; the frozen encoder keeps its batch-norm statistics)."""
        self.net_g.train(self.is_train and not self.trainable)

    def dist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """Validation on rank 0 only (the metrics pool over every region)."""
        if self.opt['rank'] == 0:
            self.nondist_validation(dataloader, current_iter, tb_logger, save_img)

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """Region metrics over the whole validation set, logged as ``metrics/<name>/<metric>``."""
        dataset_name = dataloader.dataset.opt['name']
        wanted = list(self.opt['val'].get('metrics') or {})
        unknown = [m for m in wanted if m not in METRICS]
        if unknown:
            raise PandaInputError(f'unknown validation metrics {unknown}; accepted: {", ".join(METRICS)}')
        accumulator = RegionAccumulator()
        for data in dataloader:
            self.feed_data(data)
            outputs = self.test()
            accumulator.add(*split_valid(outputs, self.batch))
        results = accumulator.compute()
        self.report_metrics(dataset_name, {m: results[m] for m in wanted}, current_iter, tb_logger)


def split_valid(outputs: dict, batch: dict) -> tuple[RegionLabels, RegionLabels]:
    """Labels and decoded predictions of the valid regions of a batch, as numpy arrays.

    Args:
        outputs: ``PANDA`` outputs (R slots).
        batch: Matching labels.

    Returns:
        (labels, predictions) for ``RegionAccumulator.add``.
    """
    count = outputs['relation'].shape[1]
    valid = batch['region_valid'][:, :count]
    labels = RegionLabels.from_fields(batch).map(lambda value: value[:, :count][valid].cpu().numpy())
    predictions = decode(outputs).map(lambda value: value[valid].cpu().numpy())
    return labels, predictions


def trainable_prefixes(prefixes, network) -> tuple[str, ...]:
    """Freeze every parameter whose name starts with none of the prefixes.

    Args:
        prefixes: ``train.trainable``: None (train everything) or a list of parameter-name
            prefixes such as ``heads.distortion``.
        network: The bare PANDA network.

    Returns:
        The prefixes (empty when everything is trained).
    """
    if prefixes is None:
        return ()
    names = [name for name, _ in network.named_parameters()]
    if not isinstance(prefixes, list) or not prefixes or not all(isinstance(p, str) for p in prefixes):
        raise PandaInputError(f'train.trainable = {prefixes!r}; accepted: a list of parameter-name prefixes '
                              'such as [heads.distortion]')
    for prefix in prefixes:
        if not any(name.startswith(prefix) for name in names):
            raise PandaInputError(f'train.trainable: {prefix!r} names no parameter; accepted: prefixes of '
                                  f'parameter names such as heads.distortion, heads.severity, decoder')
    for name, parameter in network.named_parameters():
        if not name.startswith(tuple(prefixes)):
            parameter.requires_grad_(False)
    return tuple(prefixes)
