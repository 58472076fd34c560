"""BasicSR model ``DPRestorationModel``: restoration at one chosen lambda of the
distortion-perception tradeoff, for BasicSR's test pipeline (``panda test``)."""
from __future__ import annotations

import torch
from basicsr.models.base_model import BaseModel
from basicsr.models.sr_model import SRModel

from panda_plugin.adapters.basicsr.final_validation import FinalValidationMixin
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.options import check_choice, check_number, reject_unknown

#: Options of the ``dp:`` block and their defaults.
DP_DEFAULTS = {
    'degradation': 'noise',  # noise | blur | sr
    'level': 0.1,            # noise: sigma; blur: kernel sigma; sr: factor (noise levels on [-1, 1] images)
    'noise': None,           # measurement noise of blur and sr (default 0.01)
    'lam': 0.5,              # lambda in [0, 1]: 0 the MMSE end, 1 posterior sampling
    'steps': 100,            # reverse diffusion steps
    'seed': 0,               # image k: measurement seed + k, sampler seed + 1000 k (as panda dp-sweep)
    'guidance': 1.0,         # DPS guidance weight (dp-sweep's --scale)
    'conditioning': 'auto',  # auto | exact | dps (dp-sweep's --conditioning)
    'samples': 1,            # average this many restorations (the averaging baseline)
    'deterministic': False,  # DDIM sampling instead of the variance-scaled step
    'prior': None,           # gmm (default), gmm8, gmm:PATH, PATH.npz (priors.load_prior)
}


def dp_options(opt: dict) -> dict:
    """The checked ``dp:`` block of a BasicSR option dict, with defaults filled in.

    Args:
        opt: BasicSR options.

    Returns:
        The ``dp`` options plus ``spec``, the degradation as ``panda dp-sweep --degrade`` text.
    """
    from panda_plugin.engine.dp.guidance import CONDITIONINGS
    from panda_plugin.engine.dp.sampler import check_lambda

    given = opt.get('dp') or {}
    if not isinstance(given, dict):
        raise PandaInputError(f'dp must be a mapping of options; got {given!r}')
    reject_unknown('dp', given, DP_DEFAULTS)
    dp = {**DP_DEFAULTS, **given}
    check_choice('dp', 'degradation', dp['degradation'], ('noise', 'blur', 'sr'))
    check_number('dp', 'level', dp['level'], minimum=0)
    check_number('dp', 'steps', dp['steps'], minimum=2, integer=True)
    check_number('dp', 'seed', dp['seed'], minimum=0, integer=True)
    check_number('dp', 'guidance', dp['guidance'], minimum=0)
    check_number('dp', 'samples', dp['samples'], minimum=1, integer=True)
    check_choice('dp', 'deterministic', dp['deterministic'], (True, False))
    check_choice('dp', 'conditioning', dp['conditioning'], CONDITIONINGS)
    dp['lam'] = check_lambda(dp['lam'])
    if dp['noise'] is not None:
        if dp['degradation'] == 'noise':
            raise PandaInputError('dp.noise is for blur and sr; for noise the level is the noise')
        check_number('dp', 'noise', dp['noise'], minimum=0)
    level = int(dp['level']) if dp['degradation'] == 'sr' and dp['level'] == int(dp['level']) else dp['level']
    dp['spec'] = f"{dp['degradation']}:{level:g}" + (f":{dp['noise']:g}" if dp['noise'] is not None else '')
    return dp


class DPRestorationModel(FinalValidationMixin, SRModel):
    """Variance-scaled reverse diffusion (exact conditional score or DPS) as a BasicSR model (no training).

    Options: ``dp:`` (see ``DP_DEFAULTS``); ``scale`` must equal the SR factor (1 otherwise).
    Each test item's ``gt`` is degraded by the model (the measurement of ``panda dp-sweep``,
    with the same seeds), unless the item has an ``lq``: then that is the measurement (values
    in [0, 1], made by the same operator: average pooling for ``sr``). The restoration goes
    through BasicSR's validation: its metrics (e.g. ``calculate_psnr``) and saved images, which
    like every plugin model never carries an iteration past ``train.total_iter``
    (``FinalValidationMixin``).
    """

    #: No ``network_g``: the prior is the score model.
    builds_network_g = False

    @staticmethod
    def check_options(opt: dict) -> None:
        """Refuse a bad ``dp:`` block before BasicSR builds anything (see ``dp_options``)."""
        dp_options(opt)

    def __init__(self, opt: dict):
        BaseModel.__init__(self, opt)  # no network_g: the prior is the score model
        from panda_plugin.engine.dp.guidance import resolve_conditioning
        from panda_plugin.engine.dp.operators import parse_degradation
        from panda_plugin.engine.dp.priors import load_prior

        if self.is_train:
            raise PandaInputError('DPRestorationModel has nothing to train; run it with panda test')
        self.dp = dp_options(opt)
        self.degradation = parse_degradation(self.dp['spec'])
        self.factor = getattr(self.degradation.operator, 'factor', 1)
        if opt.get('scale', 1) != self.factor:
            raise PandaInputError(f"scale {opt.get('scale')!r} with dp degradation {self.dp['spec']!r}; "
                                  f'accepted: scale {self.factor}')
        self.prior = load_prior(self.dp['prior'], self.dp['seed'])
        resolve_conditioning(self.prior, self.degradation, self.dp['conditioning'])
        self._index = 0

    def feed_data(self, data: dict) -> None:
        """Take ``gt`` and ``lq`` (or make ``lq``: the degraded ``gt``) of one test item."""
        if 'gt' not in data and 'lq' not in data:
            raise PandaInputError(f'test item with keys {sorted(data)}; accepted: items with gt, lq or both')
        seed = self.dp['seed'] + self._index
        if 'gt' in data:
            self.gt = data['gt'].to(self.device)
        if 'lq' in data:
            self.y = data['lq'].to(self.device).double() * 2 - 1
        else:
            generator = torch.Generator().manual_seed(seed)
            self.y = self.degradation.measure(self.gt.double() * 2 - 1, generator)
        self.lq = ((self.y + 1) / 2).clamp(0, 1).float()

    def test(self) -> None:
        """Restore the measurement of the current item at the chosen lambda."""
        from panda_plugin.engine.dp.restore import restore

        outputs = []
        for item in self.y:
            shape = (1, item.shape[0], item.shape[1] * self.factor, item.shape[2] * self.factor)
            out = restore(self.prior, self.degradation, item[None], shape, self.dp['lam'], self.dp['steps'],
                          self.dp['seed'] + 1000 * self._index, self.dp['deterministic'], self.dp['guidance'],
                          self.dp['samples'], self.dp['conditioning'])
            outputs.append(out)
            self._index += 1
        self.output = ((torch.cat(outputs) + 1) / 2).clamp(0, 1).float()

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img) -> None:
        """SRModel's validation; image k of each dataset gets the seeds of ``panda dp-sweep``'s image k."""
        self._index = 0
        super().nondist_validation(dataloader, current_iter, tb_logger, save_img)

    def save(self, epoch, current_iter) -> None:
        """Nothing to save: the model has no trained parameters."""
