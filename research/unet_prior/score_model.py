"""BasicSR model ``DenoisingScoreModel``: trains a noise-prediction network (``ScoreUNet``) by
denoising score matching on the sampler's VP schedule."""
from __future__ import annotations

from collections import OrderedDict

import torch
from basicsr.archs import build_network
from basicsr.losses import build_loss
from basicsr.models.base_model import BaseModel

from research.unet_prior.score_matching import DenoisingScoreLoss
from panda_plugin.adapters.basicsr.random_state import RandomStateMixin
from panda_plugin.adapters.basicsr.scalar_validation import ScalarValidationMixin
from panda_plugin.core.errors import PandaInputError


class DenoisingScoreModel(RandomStateMixin, ScalarValidationMixin, BaseModel):
    """Trains ``network_g`` (``(x, abar) -> noise``) on ``image`` batches in [-1, 1]
    (``ImageCropDataset``).

    Options: ``network_g`` (type ScoreUNet), ``train.loss_opt`` (type DenoisingScoreLoss,
    the default), ``train.optim_g`` (type ``Adam``),
    ``train.scheduler``, ``train.ema_decay`` (keep an exponential moving average
    ``net_g_ema``, used for validation and saved as ``params_ema``; default 0: none),
    ``val.metrics`` (``dsm``: the denoising score-matching loss on the validation crops with
    levels and noise fixed by ``val.seed``, default 0).
    """

    def __init__(self, opt: dict):
        super().__init__(opt)
        self.build_network_g(opt)
        train_opt = self.opt.get('train') or {}
        loss_opt = train_opt.get('loss_opt')
        self.criterion = (build_loss(dict(loss_opt)) if loss_opt else DenoisingScoreLoss()).to(self.device)
        if self.is_train:
            self.net_g.train()
            optim_opt = dict(train_opt['optim_g'])
            kind = optim_opt.pop('type')
            if kind != 'Adam':
                raise PandaInputError(f'optimizer {kind!r} is not supported here; accepted: Adam')
            self.optimizer_g = self.get_optimizer(kind, self.net_g.parameters(), **optim_opt)
            self.optimizers.append(self.optimizer_g)
            self.setup_schedulers()
            self.ema_decay = float(train_opt.get('ema_decay', 0))
            if not 0 <= self.ema_decay < 1:
                raise PandaInputError(f'ema_decay {self.ema_decay}; accepted: 0 <= ema_decay < 1')
            if self.ema_decay > 0:
                self.net_g_ema = build_network(self.opt['network_g']).to(self.device)
                self.model_ema(0)  # start from net_g's weights
                self.net_g_ema.eval()

    def feed_data(self, data: dict) -> None:
        """Keep one batch of clean crops on the model's device."""
        self.images = data['image'].to(self.device)

    def optimize_parameters(self, current_iter: int) -> None:
        """One step of denoising score matching (then the moving average, if kept)."""
        self.optimizer_g.zero_grad()
        loss = self.criterion(self.net_g, self.images)
        loss.backward()
        self.optimizer_g.step()
        if self.ema_decay > 0:
            self.model_ema(self.ema_decay)
        self.log_dict = self.reduce_loss_dict(OrderedDict(l_dsm=loss.detach()))

    def dist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """Validation on rank 0 only."""
        if self.opt['rank'] == 0:
            self.nondist_validation(dataloader, current_iter, tb_logger, save_img)

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """The score-matching loss on fixed crops, levels and noise, as ``metrics/<name>/dsm``."""
        wanted = list(self.opt['val'].get('metrics') or {'dsm': {}})
        if wanted != ['dsm']:
            raise PandaInputError(f'validation metrics {wanted}; accepted: dsm')
        net = getattr(self, 'net_g_ema', self.net_g)
        net.eval()
        generator = torch.Generator().manual_seed(int(self.opt['val'].get('seed', 0)))
        total, count = 0.0, 0
        with torch.no_grad():
            for data in dataloader:
                self.feed_data(data)
                total += float(self.criterion(net, self.images, generator)) * len(self.images)
                count += len(self.images)
        self.net_g.train()
        self.report_metrics(dataloader.dataset.opt['name'], {'dsm': total / max(count, 1)}, current_iter, tb_logger)

    def save(self, epoch: int, current_iter: int) -> None:
        """Save the network (with its moving average as ``params_ema``) and the training state."""
        if hasattr(self, 'net_g_ema'):
            self.save_network([self.net_g, self.net_g_ema], 'net_g', current_iter, param_key=['params', 'params_ema'])
        else:
            self.save_network(self.net_g, 'net_g', current_iter)
        self.save_training_state(epoch, current_iter)
