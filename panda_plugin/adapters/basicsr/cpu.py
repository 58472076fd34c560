"""BasicSR 1.4.2 on a machine without CUDA: resuming, and distributed training with gloo.

Two BasicSR functions ask CUDA for a device and therefore can only fail where CUDA is missing:

- ``basicsr.train.load_resume_state`` calls ``torch.cuda.current_device()`` as soon as it has
  found a state to resume from ("Found no NVIDIA driver");
- ``basicsr.utils.options.init_dist`` (``--launcher pytorch``) calls
  ``torch.cuda.set_device(rank % torch.cuda.device_count())`` (a division by zero) and then
  ``init_process_group('nccl')``, a backend that needs CUDA.

``install_cpu_fallbacks`` replaces those two module globals (``train_pipeline`` and
``parse_options`` look them up at call time), and only when ``torch.cuda.is_available()`` is
false; with CUDA, BasicSR's functions stay. ``import panda_plugin`` calls it right after BasicSR
is imported. The originals stay reachable as ``ORIGINALS`` and as each replacement's
``__wrapped__``; ``remove_cpu_fallbacks`` puts them back.

BasicSR's models wrap their networks in ``DistributedDataParallel(device_ids=[current CUDA
device])``; the plugin's models (``PandaModel``, ``PandaSRModel``) take ``CPUDistributedMixin``
instead, which leaves ``device_ids`` out for a CPU network.
"""
from __future__ import annotations

import collections
import os
from pathlib import Path

import torch

from panda_plugin.core.errors import PandaInputError

#: BasicSR's own functions replaced by ``install_cpu_fallbacks``: (module, name) -> function.
ORIGINALS: dict = {}


def load_resume_state(opt: dict):
    """BasicSR's ``load_resume_state`` that maps tensors to where they can live (the current
    CUDA device, else the CPU), loads without pickle (``weights_only=True``) and looks for
    ``--auto_resume`` states under the run's own ``training_states`` folder (BasicSR looks
    under ``experiments/<name>`` relative to the working directory, which is the same folder
    when the root path is the working directory).

    Args:
        opt: Parsed BasicSR options.

    Returns:
        The resume state dict, or None.
    """
    from basicsr.train import check_resume, scandir

    path = None
    if opt['auto_resume']:
        folder = Path(opt['path']['training_states'])
        if folder.is_dir():
            states = [float(name.split('.state')[0]) for name in scandir(str(folder), suffix='state')]
            if states:
                path = str(folder / f'{max(states):.0f}.state')
                opt['path']['resume_state'] = path
    else:
        path = opt['path'].get('resume_state')
    if path is None:
        return None
    location = f'cuda:{torch.cuda.current_device()}' if torch.cuda.is_available() else 'cpu'
    with torch.serialization.safe_globals([collections.Counter]):
        state = torch.load(path, map_location=location, weights_only=True)
    check_resume(opt, state['iter'])
    return state


def init_dist(launcher: str, backend: str = 'nccl', **kwargs) -> None:
    """BasicSR's ``init_dist`` for a machine without CUDA: the ``gloo`` backend, no CUDA device.

    Args:
        launcher: ``'pytorch'`` (torchrun sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
            ``MASTER_PORT``); ``'slurm'`` needs CUDA and is refused.
        backend: Ignored: ``gloo`` is the CPU backend (BasicSR passes ``nccl`` for
            ``--launcher pytorch`` whatever ``dist_params.backend`` says).
        **kwargs: Passed to ``torch.distributed.init_process_group``.

    Raises:
        PandaInputError: ``launcher`` is not ``'pytorch'``, or torchrun's variables are missing.
    """
    import torch.distributed as dist
    import torch.multiprocessing as mp

    if launcher != 'pytorch':
        raise PandaInputError(f'--launcher {launcher} needs CUDA; without CUDA start the processes with '
                              'torchrun and --launcher pytorch (backend gloo)')
    missing = [name for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT') if name not in os.environ]
    if missing:
        raise PandaInputError(f'--launcher pytorch needs {", ".join(missing)} in the environment: start the '
                              'processes with torchrun, e.g. torchrun --standalone --nproc_per_node=2 ...')
    if mp.get_start_method(allow_none=True) is None:
        mp.set_start_method('spawn')
    kwargs.pop('port', None)
    dist.init_process_group(backend='gloo', **kwargs)


#: (module, name, replacement) installed where CUDA is unavailable.
_FALLBACKS = (('basicsr.train', 'load_resume_state', load_resume_state),
              ('basicsr.utils.options', 'init_dist', init_dist))


def install_cpu_fallbacks() -> bool:
    """Replace BasicSR's two CUDA-only functions (see the module docstring) when CUDA is
    unavailable; idempotent.

    Returns:
        Whether the fallbacks are in place.
    """
    if torch.cuda.is_available():
        return False
    import importlib

    for module_name, name, replacement in _FALLBACKS:
        module = importlib.import_module(module_name)
        current = getattr(module, name)
        if current is replacement:
            continue
        ORIGINALS[module_name, name] = current
        replacement.__wrapped__ = current
        setattr(module, name, replacement)
    return True


def remove_cpu_fallbacks() -> None:
    """Put BasicSR's own functions back."""
    import importlib

    for (module_name, name), original in list(ORIGINALS.items()):
        setattr(importlib.import_module(module_name), name, original)
        del ORIGINALS[module_name, name]


class CPUDistributedMixin:
    """For a BasicSR model class: in distributed runs on the CPU, wrap networks in
    ``DistributedDataParallel`` without ``device_ids`` (BasicSR passes the current CUDA device)."""

    def model_to_device(self, net):
        """BasicSR's ``model_to_device``, CPU-safe."""
        if self.opt['dist'] and self.device.type == 'cpu':
            from torch.nn.parallel import DistributedDataParallel

            return DistributedDataParallel(net.to(self.device),
                                           find_unused_parameters=self.opt.get('find_unused_parameters', False))
        return super().model_to_device(net)
