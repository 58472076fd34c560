"""BasicSR model ``PandaSRModel``: an SRModel with a PANDA loss and region monitoring."""
from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np
import torch
from basicsr.losses import build_loss
from basicsr.models.sr_model import SRModel
from basicsr.utils import get_root_logger, tensor2img

from panda_plugin.adapters.basicsr.click_monitor import click_graph
from panda_plugin.adapters.basicsr.cpu import CPUDistributedMixin
from panda_plugin.adapters.basicsr.final_validation import FinalValidationMixin
from panda_plugin.adapters.basicsr.metric import check_calculate_panda_options
from panda_plugin.adapters.basicsr.outputs import graph_json_path
from panda_plugin.adapters.basicsr.random_state import RandomStateMixin
from panda_plugin.adapters.tensorboard import GraphBoard, ValidatedImage
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.options import check_choice, check_number, reject_unknown
from panda_plugin.engine.panda.metric import shared_metric
from panda_plugin.engine.panda.weights import DEFAULT_WEIGHTS

#: Options of ``val: panda:`` and their defaults.
MONITOR_DEFAULTS = {
    'weights': DEFAULT_WEIGHTS,  # shipped weights name or weights file
    'segmenter': 'superpixel',   # region proposer, run on the ground truth
    'every': 1,                  # monitor every n-th validation
    'pictures': 4,               # images whose graph picture goes to TensorBoard
    'worst_regions': 10,         # rows of the worst-regions table (0: none)
    'region_curves': 100,        # most per-region score curves per validation (0: none)
    'save_json': True,           # write <image>_<iter>_panda.json beside the validation images
    'points': None,              # clicks file keyed by image name: graphs over the clicked objects
    'points_method': None,       # click method (learned, geodesic, euclidean); default learned
}


class PandaSRModel(CPUDistributedMixin, RandomStateMixin, FinalValidationMixin, SRModel):
    """BasicSR's SRModel plus PANDA.

    - ``train: panda_opt:`` (a ``PandaRegionLoss``), alone or beside ``pixel_opt`` and
      ``perceptual_opt``; logged as ``l_panda``.
    - ``val: panda:`` (options in ``MONITOR_DEFAULTS``): at each monitored validation, the
      reference-mode distortion graph of every validated image against its ground truth
      (the ground truth against itself scores 1) goes to TensorBoard
      (see ``tensorboard.GraphBoard``) and, with ``save_json``, to a JSON file next to
      BasicSR's validation images. The graphs score the 8-bit images BasicSR's metrics
      score, so their mean is ``calculate_panda``'s value at ``crop_border: 0``.
    - The validation after the last iteration carries ``train.total_iter``, not BasicSR's
      count past it (``final_validation``).
    """

    def __init__(self, opt: dict):
        self.monitor = _monitor_options(opt.get('val') or {})
        _check_metric_options(opt.get('val') or {})
        self._rounds = {}  # dataset -> (validations so far, iteration of the last monitored one)
        self._validated = None
        self._board = None if self.monitor is None else GraphBoard(
            self.monitor['pictures'], self.monitor['worst_regions'], self.monitor['region_curves'])
        super().__init__(opt)

    def init_training_settings(self) -> None:
        """SRModel's settings, with ``panda_opt`` counting as a loss."""
        train_opt = self.opt['train']
        panda_opt = train_opt.get('panda_opt')
        self.cri_panda = build_loss(dict(panda_opt)).to(self.device) if panda_opt else None
        if self.cri_panda is not None and not train_opt.get('pixel_opt') and not train_opt.get('perceptual_opt'):
            # SRModel insists on a pixel or perceptual loss; here PANDA's is enough.
            train_opt['pixel_opt'] = {'type': 'L1Loss', 'loss_weight': 0.0}
            try:
                super().init_training_settings()
            finally:
                train_opt.pop('pixel_opt')
            self.cri_pix = None
        else:
            super().init_training_settings()

    def optimize_parameters(self, current_iter: int) -> None:
        """One step on pixel, perceptual and PANDA losses; keeps the EMA update."""
        self.optimizer_g.zero_grad()
        self.output = self.net_g(self.lq)
        terms = OrderedDict()
        if self.cri_pix:
            terms['l_pix'] = self.cri_pix(self.output, self.gt)
        if self.cri_perceptual:
            percep, style = self.cri_perceptual(self.output, self.gt)
            if percep is not None:
                terms['l_percep'] = percep
            if style is not None:
                terms['l_style'] = style
        if self.cri_panda:
            terms['l_panda'] = self.cri_panda(self.output, self.gt)
        sum(terms.values()).backward()
        self.optimizer_g.step()
        self.log_dict = self.reduce_loss_dict(terms)
        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)

    def feed_data(self, data: dict) -> None:
        """SRModel's, remembering the image path for the graph's name."""
        super().feed_data(data)
        self._path = (data.get('lq_path') or data.get('gt_path') or ['image'])[0]

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img) -> None:
        """SRModel's validation; on monitored rounds, the graphs of the validated images too."""
        self._dataset = dataset = dataloader.dataset.opt['name']
        count, last = self._rounds.get(dataset, (0, None))
        # BasicSR validates once more after its last iteration: the same network again when
        # that iteration was validated, whose graphs are not made twice.
        repeated = current_iter == last
        monitored = self.monitor is not None and not repeated and count % self.monitor['every'] == 0
        self._rounds[dataset] = (count + (not repeated), current_iter if monitored else last)
        self._validated = [] if monitored else None
        self._iteration = current_iter
        try:
            super().nondist_validation(dataloader, current_iter, tb_logger, save_img)
            if monitored and self._validated:
                self._report(dataset, current_iter, tb_logger)
        finally:
            self._validated = None

    def test(self) -> None:
        """SRModel's inference; during a monitored validation, the graph of its result too."""
        super().test()
        if self._validated is not None and hasattr(self, 'gt'):
            self._validated.append(self._graph(self.output.detach(), self.gt))

    def _graph(self, result: torch.Tensor, gt: torch.Tensor) -> ValidatedImage:
        metric = shared_metric(self.monitor['weights'], self.monitor['segmenter'], self.device)
        pictures = tensor2img(result, rgb2bgr=False), tensor2img(gt, rgb2bgr=False)
        clicked = click_graph(self.monitor, self._path, *pictures, self.device)
        if clicked is None:
            restored, reference = (torch.from_numpy(p).permute(2, 0, 1)[None].float().div(255).to(self.device)
                                   for p in pictures)
            with torch.no_grad():
                _, graphs = metric(restored, reference, return_graph=True)
        else:
            graphs = [clicked]
        name = os.path.splitext(os.path.basename(self._path))[0]
        if self.monitor['save_json']:
            path = graph_json_path(self.opt, self._dataset, name, self._iteration)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            graphs[0].to_json(path)
        return ValidatedImage(name, graphs[0], *pictures)

    def _report(self, dataset: str, current_iter: int, tb_logger) -> None:
        images = self._validated
        mean = float(np.mean([image.graph.anchor_score for image in images]))
        worst = min(images, key=lambda image: image.graph.anchor_score)
        get_root_logger().info(f'PANDA {dataset} @ {current_iter}: mean score {mean:.4f} over {len(images)} '
                               f'images; lowest {worst.name} ({worst.graph.anchor_score:.4f})')
        if tb_logger:
            listed = 'panda' in (self.opt['val'].get('metrics') or {})
            self._board.write(tb_logger, dataset, current_iter, images, score=not listed)


def _monitor_options(val_opt: dict) -> dict | None:
    given = val_opt.get('panda')
    if given is None:
        return None
    if given is True:
        given = {}
    if not isinstance(given, dict):
        raise PandaInputError(f'val.panda must be a mapping of options (or true); got {given!r}')
    reject_unknown('val.panda', given, MONITOR_DEFAULTS)
    options = {**MONITOR_DEFAULTS, **given}
    for key in ('every', 'pictures', 'worst_regions', 'region_curves'):
        check_number('val.panda', key, options[key], minimum=1 if key == 'every' else 0, integer=True)
    check_choice('val.panda', 'save_json', options['save_json'], (True, False))
    return options


def _check_metric_options(val_opt: dict) -> None:
    """Check every ``calculate_panda`` block of ``val.metrics`` when the run starts."""
    for name, metric in (val_opt.get('metrics') or {}).items():
        if isinstance(metric, dict) and metric.get('type') == 'calculate_panda':
            check_calculate_panda_options(f'val.metrics.{name}', {k: v for k, v in metric.items() if k != 'type'})

