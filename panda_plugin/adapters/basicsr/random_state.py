"""Random states beside BasicSR's training states, so that a resumed run draws the numbers the
uninterrupted run would have drawn.

BasicSR 1.4.2 saves optimizers and schedulers in ``training_states/<iter>.state`` and reseeds
every generator when it resumes; PANDA's token pool draws a permutation per training step and
BasicSR's paired datasets crop and flip with Python's ``random``. ``RandomStateMixin`` saves
each process's torch, numpy and Python random states in ``<iter>.rank<r>.random`` beside the
state and restores them on resume. BasicSR still replays an interrupted epoch from its start,
so a resumed run repeats the uninterrupted one exactly when checkpoints fall on epoch ends
(e.g. one batch per epoch).
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch


def random_states() -> dict:
    """This process's torch, numpy and Python random states, in types ``torch.load`` reads with
    ``weights_only=True``."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    version, python_state, python_gauss = random.getstate()
    return {'torch': torch.get_rng_state(),
            'numpy': {'kind': kind, 'keys': torch.from_numpy(keys.astype(np.int64)), 'position': position,
                      'has_gauss': has_gauss, 'gauss': gauss},
            'python': {'version': version, 'state': list(python_state), 'gauss': python_gauss}}


def set_random_states(states: dict) -> None:
    """Restore states saved by ``random_states``."""
    torch.set_rng_state(states['torch'])
    numpy = states['numpy']
    np.random.set_state((numpy['kind'], numpy['keys'].numpy().astype(np.uint32), numpy['position'],
                         numpy['has_gauss'], numpy['gauss']))
    python = states['python']
    random.setstate((python['version'], tuple(python['state']), python['gauss']))


class RandomStateMixin:
    """For a BasicSR model class: random states saved with each training state and restored
    when training resumes from it (see the module docstring)."""

    def _random_state_path(self, state: str | Path) -> Path:
        state = Path(state)
        return state.with_name(f'{state.stem}.rank{self.opt.get("rank", 0)}.random')

    def save_training_state(self, epoch, current_iter):
        """BasicSR's ``save_training_state``, then this process's random states beside it."""
        super().save_training_state(epoch, current_iter)
        folder = Path(self.opt['path']['training_states'])
        if current_iter != -1 and folder.is_dir():   # other machines of a distributed run may have none
            torch.save(random_states(), self._random_state_path(folder / f'{current_iter}.state'))

    def resume_training(self, resume_state):
        """BasicSR's ``resume_training``, then the random states saved with the state, if any."""
        super().resume_training(resume_state)
        path = self.opt['path'].get('resume_state')
        if path and self._random_state_path(path).is_file():
            set_random_states(torch.load(self._random_state_path(path), weights_only=True))
