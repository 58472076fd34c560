"""Blend two PANDA checkpoints tensor by tensor (weight-space ensembling, as WiSE-FT).

``(1 - alpha) * start + alpha * tuned`` for every tensor whose name starts with one of
``--only`` (default: all), the start checkpoint's tensor elsewhere. With ``alpha`` = 1 the
result is the tuned checkpoint, with 0 the start one. The output is a BasicSR checkpoint
(``{'params': ...}``) for ``panda export-weights``.

Usage: python -m benchmarks.panda.blend_weights START TUNED --alpha 0.5 [--only heads.distortion] --out OUT.pth
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.checkpoints import load_tensors


def blend(start: dict, tuned: dict, alpha: float, only: tuple[str, ...] = ()) -> dict:
    """The blended state dict.

    Args:
        start: State dict of the starting weights.
        tuned: State dict of the fine-tuned weights (same keys and shapes).
        alpha: Share of the tuned weights, in [0, 1].
        only: Name prefixes of the blended tensors (empty: all).

    Returns:
        A new state dict.
    """
    if not 0 <= alpha <= 1:
        raise PandaInputError(f'alpha {alpha!r}; accepted: a number in [0, 1]')
    if start.keys() != tuned.keys():
        raise PandaInputError('the two checkpoints hold different tensors; accepted: two checkpoints of one network')
    out = {}
    for name, value in start.items():
        if value.is_floating_point() and (not only or name.startswith(only)):
            out[name] = (1 - alpha) * value + alpha * tuned[name]
        else:
            out[name] = value.clone()
    return out


def _params(path: str) -> dict:
    checkpoint = load_tensors(path)
    return checkpoint.get('params', checkpoint) if isinstance(checkpoint, dict) else checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('start')
    parser.add_argument('tuned')
    parser.add_argument('--alpha', type=float, required=True)
    parser.add_argument('--only', nargs='*', default=[])
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    try:
        state = blend(_params(args.start), _params(args.tuned), args.alpha, tuple(args.only))
    except PandaInputError as error:
        parser.error(str(error))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch.save({'params': state}, args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
