"""Start-up cost: ``import panda_plugin`` over ``import torch`` and ``panda --help``, side by side.

Usage: python benchmarks/bench_import_time.py [--repeats 7]
"""
import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

PANDA = Path(sys.executable).with_name('panda')


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=7)
    repeats = parser.parse_args().repeats
    commands = {
        'python -c pass': [sys.executable, '-c', 'pass'],
        'import torch': [sys.executable, '-c', 'import torch'],
        'import panda_plugin': [sys.executable, '-c', 'import panda_plugin'],
        'import torch, panda_plugin': [sys.executable, '-c', 'import torch, panda_plugin'],
        'panda --help': [str(PANDA), '--help'],
    }
    times = {name: [] for name in commands}
    for _ in range(repeats):  # interleaved, so that machine noise hits every command alike
        for name, command in commands.items():
            times[name].append(seconds(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f'| command | median of {repeats} (s) |')
    print('|---|---|')
    for name, value in medians.items():
        print(f'| `{name}` | {value:.3f} |')
    print(f"\nimport panda_plugin adds {medians['import torch, panda_plugin'] - medians['import torch']:.3f} s "
          'over import torch')


if __name__ == '__main__':
    main()
