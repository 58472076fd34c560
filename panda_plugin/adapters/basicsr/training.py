"""``panda train`` and ``panda test``: BasicSR's training and test pipelines with the plugin
registered.

``import panda_plugin`` already registers every PANDA arch, model, loss, dataset and metric when
BasicSR is imported, and on a machine without CUDA gives BasicSR CPU versions of its resume and
distributed start-up (``adapters.basicsr.cpu``), and reads and checks option files safely
(``adapters.option_loading``). These commands add: the option file is read first, before
torch and BasicSR are imported, BasicSR's logger is reset so that each run writes its own log file, and ``panda train``
resumes with the plugin's ``load_resume_state`` (states of the run's own folder, loaded onto the
current device) on every machine. BasicSR reads its options from ``sys.argv`` and looks
``load_resume_state`` up as a module global; both are swapped for the run only.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from panda_plugin.adapters.basicsr.cpu import load_resume_state
from panda_plugin.adapters.basicsr.registry import register_plugin
from panda_plugin.adapters.option_loading import check_option_arguments

__all__ = ['load_resume_state', 'register_plugin', 'reset_basicsr_logger', 'test', 'train']


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
    check_option_arguments(arguments)
    register_plugin()
    import basicsr.train

    reset_basicsr_logger()
    saved = sys.argv, basicsr.train.load_resume_state
    sys.argv, basicsr.train.load_resume_state = ['panda train', *arguments], load_resume_state
    try:
        basicsr.train.train_pipeline(str(Path(root).resolve()))
    finally:
        sys.argv, basicsr.train.load_resume_state = saved


def test(arguments: list[str], root: str | os.PathLike = '.') -> None:
    """Run BasicSR's test pipeline with the plugin registered: every dataset of the option file
    is validated by its model; results (images, metrics, PANDA graph JSON) go to
    ``<root>/results/<name>/``.

    Args:
        arguments: BasicSR's test arguments, e.g. ``['-opt', 'options/test_x.yml']``.
        root: Folder under which ``results/`` is written. Default: the current folder.
    """
    check_option_arguments(arguments)
    register_plugin()
    import basicsr.test

    reset_basicsr_logger()
    saved = sys.argv
    sys.argv = ['panda test', *arguments]
    try:
        basicsr.test.test_pipeline(str(Path(root).resolve()))
    finally:
        sys.argv = saved
