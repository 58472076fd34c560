"""``panda train``: BasicSR's training pipeline with the plugin registered.

Adds two things to ``basicsr.train.train_pipeline``: every PANDA arch, model, loss, dataset and
metric is registered first, and resuming works on a machine without a GPU (BasicSR 1.4.2 asks
CUDA for a device while loading a resume state). BasicSR reads its options from ``sys.argv``
and looks ``load_resume_state`` up as a module global; both are swapped for the run only.
"""
from __future__ import annotations

import collections
import os
import sys
from pathlib import Path

import torch

from panda_plugin.core.errors import PandaInputError
from panda_plugin.adapters.basicsr.registry import register_plugin


def load_resume_state(opt: dict):
    """BasicSR's ``load_resume_state`` that maps tensors to where they can live, loads
    without pickle (``weights_only=True``) and looks for states under the run's own
    ``training_states`` folder (BasicSR looks relative to the working directory).

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


def reset_basicsr_logger() -> None:
    """Forget BasicSR's root logger so that the next run writes its own log file (BasicSR sets
    the logger up once per process and would keep writing to the first run's file)."""
    import logging

    from basicsr.utils import logger as basicsr_logger

    logger = logging.getLogger('basicsr')
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    basicsr_logger.initialized_logger.pop('basicsr', None)


def train(arguments: list[str], root: str | os.PathLike = '.') -> None:
    """Run BasicSR training with the plugin registered.

    Args:
        arguments: BasicSR's training arguments, e.g. ``['-opt', 'options/x.yml', '--auto_resume']``.
        root: Folder under which ``experiments/`` and ``tb_logger/`` are written. Default: the
            current folder.
    """
    register_plugin()
    import basicsr.train

    option_file = arguments[arguments.index('-opt') + 1] if '-opt' in arguments else None
    if option_file is None or not Path(option_file).is_file():
        raise PandaInputError(f'option file {option_file!r} does not exist; give -opt PATH.yml')
    reset_basicsr_logger()
    saved = sys.argv, basicsr.train.load_resume_state
    sys.argv, basicsr.train.load_resume_state = ['panda train', *arguments], load_resume_state
    try:
        basicsr.train.train_pipeline(str(Path(root).resolve()))
    finally:
        sys.argv, basicsr.train.load_resume_state = saved
