"""``benchmarks/panda/blend_weights.py``, the weight-space blend that made the shipped v4."""
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _blend(tmp_path, alpha, *only):
    start = {'heads.distortion.0.weight': torch.zeros(2, 2), 'heads.score.0.weight': torch.zeros(2),
             'encoder.bn.num_batches_tracked': torch.tensor(3)}
    tuned = {'heads.distortion.0.weight': torch.full((2, 2), 4.0), 'heads.score.0.weight': torch.ones(2),
             'encoder.bn.num_batches_tracked': torch.tensor(9)}
    torch.save({'params': start}, tmp_path / 'start.pth')
    torch.save({'params': tuned}, tmp_path / 'tuned.pth')
    out = tmp_path / f'blend_{alpha}.pth'
    command = [sys.executable, '-m', 'benchmarks.panda.blend_weights', str(tmp_path / 'start.pth'),
               str(tmp_path / 'tuned.pth'), '--alpha', str(alpha), '--out', str(out)]
    done = subprocess.run(command + (['--only', *only] if only else []), cwd=ROOT, capture_output=True, text=True)
    return done, (torch.load(out, weights_only=True)['params'] if done.returncode == 0 else None)


def test_blend_mixes_the_named_tensors_and_keeps_the_rest(tmp_path):
    _, half = _blend(tmp_path, 0.5, 'heads.distortion')
    assert torch.equal(half['heads.distortion.0.weight'], torch.full((2, 2), 2.0))
    assert torch.equal(half['heads.score.0.weight'], torch.zeros(2))  # not named: the start's
    assert half['encoder.bn.num_batches_tracked'] == 3  # integer counters are never blended
    _, everything = _blend(tmp_path, 0.25)
    assert torch.equal(everything['heads.score.0.weight'], torch.full((2,), 0.25))
    done, _ = _blend(tmp_path, 1.5)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].endswith('alpha 1.5; accepted: a number in [0, 1]')
    assert 'Traceback' not in done.stderr
