"""Start-up cost: ``import panda_plugin`` over ``import torch`` and ``panda --help``, side by side.

Usage: python -m benchmarks.bench_import_time [--repeats 7] [--baseline CHECKOUT]

``--baseline`` adds the same rows for another checkout of the package (e.g. an earlier commit
in a git worktree), imported through ``PYTHONPATH``, in the same interleaved run.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PANDA = Path(sys.executable).with_name('panda')


def seconds(command: list[str], path: str | None) -> float:
    environment = dict(os.environ, PYTHONPATH=path) if path else None
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment, cwd=Path(sys.executable).anchor)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--baseline', help='another checkout of the package to time beside this one')
    args = parser.parse_args()
    repeats = args.repeats
    commands = {
        'python -c pass': ([sys.executable, '-c', 'pass'], None),
        'import torch': ([sys.executable, '-c', 'import torch'], None),
        'import panda_plugin': ([sys.executable, '-c', 'import panda_plugin'], None),
        'import torch, panda_plugin': ([sys.executable, '-c', 'import torch, panda_plugin'], None),
        'panda --help': ([str(PANDA), '--help'], None),
        'python -m panda_plugin.adapters.cli --help': ([sys.executable, '-m', 'panda_plugin.adapters.cli', '--help'], None),
    }
    if args.baseline:
        baseline = str(Path(args.baseline).resolve())
        commands['baseline: import torch'] = ([sys.executable, '-c', 'import torch'], baseline)
        commands['baseline: import torch, panda_plugin'] = ([sys.executable, '-c', 'import torch, panda_plugin'], baseline)
        commands['baseline: python -m panda_plugin.adapters.cli --help'] = (
            [sys.executable, '-m', 'panda_plugin.adapters.cli', '--help'], baseline)
    times = {name: [] for name in commands}
    for _ in range(repeats):  # interleaved, so that machine noise hits every command alike
        for name, (command, path) in commands.items():
            times[name].append(seconds(command, path))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f'| command | median of {repeats} (s) |')
    print('|---|---|')
    for name, value in medians.items():
        print(f'| `{name}` | {value:.3f} |')
    print(f"\nimport panda_plugin adds {medians['import torch, panda_plugin'] - medians['import torch']:.3f} s "
          'over import torch')
    if args.baseline:
        print(f"baseline: import panda_plugin adds "
              f"{medians['baseline: import torch, panda_plugin'] - medians['baseline: import torch']:.3f} s over import torch")


if __name__ == '__main__':
    main()
