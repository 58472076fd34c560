"""Mutation smoke check: deliberate breakages of the package, each caught by the tests or not.

Usage: python benchmarks/mutation_smoke.py [--only NAME ...] [--markdown docs/results/panda/mutation.md]

The checkout (tracked and untracked files that git does not ignore) is copied to a temporary
folder; each breakage edits that copy only, runs the tests named for it there and puts the file
back. A breakage is located by the name of its function, class or constant, wherever the module
lives, so moving files does not break the check. Breakages of helpers that are not in the
package yet are listed as pending. The unbroken copy must pass the same tests first.
"""
from __future__ import annotations

import argparse
import ast
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Breakage:
    """One deliberate breakage.

    Args:
        name: Short name.
        what: What it breaks, in words.
        target: ``function``, ``Class.method`` or a module-level constant name.
        edit: ``prepend`` (insert ``code`` as the first statement), ``wrap`` (the function returns
            ``code`` evaluated with ``result`` bound to its original result), ``drop_call`` (calls
            of the method ``code`` in the function become their first argument) or ``assign``
            (the constant becomes ``code``).
        code: The statement, expression or name of the edit.
        tests: pytest ``-k`` expression of the tests that must catch it.
        optional: The target is a helper that may not be in the package yet (then: pending).
    """

    name: str
    what: str
    target: str
    edit: str
    code: str
    tests: str
    optional: bool = False


BREAKAGES = [
    Breakage('weights-noop', 'the metric\'s load_weights does nothing', 'PandaMetric.load_weights', 'prepend',
             'return None', 'test_pretrained_model_path_and_load_weights'),
    Breakage('resume-from-scratch', 'resuming finds no state and trains from iteration 0', 'load_resume_state',
             'prepend', 'return None', 'test_a_resumed_run_ends_as_the_uninterrupted_run'),
    Breakage('resume-without-random-states', 'resuming leaves the random generators reseeded',
             'RandomStateMixin.resume_training', 'prepend', 'return super().resume_training(resume_state)',
             'test_a_resumed_run_ends_as_the_uninterrupted_run'),
    Breakage('identity-not-1', 'identical regions score 0.9999 instead of exactly 1', 'batch_fidelity', 'wrap',
             '[torch.where(s == 1, s - 1e-4, s) for s in result]',
             'test_tensors_outside_0_1_are_refused or test_region_fidelity_is_one_for_identical_regions_only '
             'or test_monitoring_scores_the_ground_truth_against_itself_one'),
    Breakage('swap-not-mirrored', 'the heads score the anchor 1% lower than the same region as target',
             'PandaHeads.forward', 'wrap', "{**result, 'anchor_score': result['anchor_score'] * 0.99}",
             'test_swapping_mirrors_and_repeats_are_identical'),
    Breakage('atomic-write-plain', 'outputs are written in place instead of to a temporary file then renamed',
             'atomic_path', 'prepend', 'yield Path(path); return',
             'test_a_writer_killed_mid_write_leaves_the_previous_file_and_a_rerun_completes '
             'or test_readers_never_see_a_torn_graph_json', optional=True),
    Breakage('yaml-unsafe', 'option files are parsed with yaml.UnsafeLoader (Python tags run)', 'load_options',
             'prepend', 'return yaml.load(text, Loader=yaml.UnsafeLoader)',
             'test_every_python_tag_is_refused_and_nothing_runs', optional=True),
    Breakage('default-click-method', 'the default click distance becomes geodesic', 'DEFAULT_METHOD', 'assign',
             "'geodesic'", 'test_learned_is_the_default_and_beats_geodesic_on_held_out_scenes'),
    Breakage('demo-no-picture', 'panda demo does not render pair.png', 'demo_command', 'drop_call', 'render',
             'test_demo_writes_its_five_files'),
    Breakage('score-clipped-0.9', 'reference-mode region scores are clipped at 0.9', 'fidelity_of', 'wrap',
             '[s.clamp(max=0.9) for s in result]',
             'test_tensors_outside_0_1_are_refused or test_cli_compare_with_panoptic_segmenter '
             'or test_monitoring_scores_the_ground_truth_against_itself_one'),
    Breakage('texture-constant', 'every region\'s texture score is 0.5', 'texture_of', 'wrap',
             '[torch.full_like(s, 0.5) for s in result]',
             'test_a_shifted_sample_of_the_texture_scores_above_a_blurred_one '
             'or test_grain_on_a_flat_region_lowers_the_score', optional=True),
    Breakage('boxes-one-wider', 'every region\'s box is one pixel wider', 'boxes_and_areas', 'wrap',
             '(result[0] + np.array([0, 0, 1, 0]), result[1])',
             'test_boxes_and_areas_equal_scipy_s_objects_and_pixel_counts'),
    Breakage('measured-areas-off', 'a measured label map counts one pixel more per region', 'measure_label_map',
             'wrap', 'result._replace(areas=result.areas + 1)',
             'test_a_label_map_measured_once_gives_the_same_graph_and_is_checked_the_same '
             'or test_image_scores_of_measured_label_maps_equal_those_of_counted_pixels'),
    Breakage('grid-share-inflated', 'texture\'s block-grid sums are half as large again', '_grid_sums', 'wrap',
             'result * 1.5', 'test_the_grid_share_is_the_luma_difference_energy_on_the_block_grid_lines'),
]


def copy_checkout(destination: Path) -> None:
    """Copy the files a fresh clone has (plus untracked, not ignored ones) to ``destination``."""
    listed = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split('\0')
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def locate(package: Path, target: str) -> tuple[Path, ast.AST, ast.ClassDef | None] | None:
    """The module and node defining ``target`` (``function``, ``Class.method`` or a constant)."""
    owner, _, member = target.rpartition('.')
    found = []
    for path in sorted(package.rglob('*.py')):
        tree = ast.parse(path.read_text(encoding='utf-8'))
        scopes = [(None, tree.body)] if not owner else [
            (node, node.body) for node in tree.body if isinstance(node, ast.ClassDef) and node.name == owner]
        for cls, body in scopes:
            for node in body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == member:
                    found.append((path, node, cls))
                elif (isinstance(node, ast.Assign) and not owner
                      and any(isinstance(t, ast.Name) and t.id == member for t in node.targets)):
                    found.append((path, node, cls))
    if len(found) > 1:
        raise SystemExit(f'{target} is defined {len(found)} times: ' + ', '.join(str(f[0]) for f in found))
    return found[0] if found else None


def apply(breakage: Breakage, path: Path, node: ast.AST, cls: ast.ClassDef | None) -> str:
    """Edit ``path`` (in the copy) for ``breakage``; returns the new text."""
    text = path.read_text(encoding='utf-8')
    lines = text.splitlines(keepends=True)
    if breakage.edit == 'assign':
        start, end = node.value.lineno - 1, node.value.end_lineno - 1
        head = lines[start][:node.value.col_offset]
        tail = lines[end][node.value.end_col_offset:]
        return ''.join(lines[:start] + [head + breakage.code + tail] + lines[end + 1:])
    if breakage.edit == 'prepend':
        body = node.body
        first = body[1] if (len(body) > 1 and isinstance(body[0], ast.Expr)
                            and isinstance(body[0].value, ast.Constant)) else body[0]
        indent = ' ' * first.col_offset
        return ''.join(lines[:first.lineno - 1] + [f'{indent}{breakage.code}\n'] + lines[first.lineno - 1:])
    if breakage.edit == 'drop_call':
        calls = [call for call in ast.walk(node) if isinstance(call, ast.Call)
                 and isinstance(call.func, ast.Attribute) and call.func.attr == breakage.code and call.args]
        if not calls:
            raise SystemExit(f'{breakage.target} calls no .{breakage.code}(...)')
        for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset), reverse=True):
            segment = ast.get_source_segment(text, call.args[0])
            start, end = call.lineno - 1, call.end_lineno - 1
            lines[start:end + 1] = [lines[start][:call.col_offset] + segment + lines[end][call.end_col_offset:]]
        return ''.join(lines)
    if breakage.edit == 'wrap':
        original = f'_unbroken_{node.name}'
        line = lines[node.lineno - 1]
        lines[node.lineno - 1] = line.replace(f'def {node.name}(', f'def {original}(', 1)
        if cls is None:
            wrapper = (f'\n\ndef {node.name}(*args, **kwargs):\n    result = {original}(*args, **kwargs)\n'
                       f'    return {breakage.code}\n')
        else:
            wrapper = (f'\n\ndef _broken_{node.name}(self, *args, **kwargs):\n'
                       f'    result = self.{original}(*args, **kwargs)\n    return {breakage.code}\n\n\n'
                       f'{cls.name}.{node.name} = _broken_{node.name}\n')
        imports = '\nimport torch  # noqa: E402 (mutation)\n' if 'torch.' in breakage.code else ''
        return ''.join(lines) + imports + wrapper
    raise ValueError(f'unknown edit {breakage.edit!r}')


def run_tests(copy: Path, expression: str, timeout: int) -> tuple[int, float, str, str]:
    """``pytest tests -k EXPRESSION`` in the copy.

    Returns:
        (exit status, seconds, last output line, the first failed test or '').
    """
    environment = {key: value for key, value in os.environ.items() if key != 'PANDA_CI'}
    environment['PYTHONPATH'] = str(copy)
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-x', '-rf', '-p', 'no:cacheprovider',
                               'tests', '-k', expression], cwd=copy, env=environment, capture_output=True, text=True,
                              timeout=timeout)
        lines = done.stdout.strip().splitlines()
        status, last = done.returncode, (lines or [''])[-1]
        failed = next((line.split()[1].split('::')[-1] for line in lines if line.startswith('FAILED ')), '')
    except subprocess.TimeoutExpired:
        status, last, failed = -1, f'timed out after {timeout} s', ''
    return status, time.perf_counter() - start, last, failed


def markdown(rows: list, seconds: float) -> str:
    """The result page."""
    lines = ['# Mutation smoke check', '',
             'Deliberate breakages of the package, each applied alone to a temporary copy of the checkout, '
             'and whether the tests named for it catch it (fail). Written by '
             '`python benchmarks/mutation_smoke.py --markdown docs/results/panda/mutation.md` (`make mutation`).',
             '', f'Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}; '
             f'{seconds / 60:.1f} min in all.', '',
             '| breakage | what it breaks | where | tests run (`-k`) | result | s |', '|---|---|---|---|---|---|']
    for row in rows:
        lines.append(f"| {row['name']} | {row['what']} | {row['where']} | `{row['tests']}` | {row['result']} | "
                     f"{row['seconds']:.0f} |")
    caught = sum(row['result'].startswith('caught') for row in rows)
    pending = sum(row['result'].startswith('pending') for row in rows)
    lines += ['', f'{caught} of {len(rows) - pending} breakages caught; {pending} pending (their helper is not '
              'in the package yet: the check picks it up by name once it lands).', '']
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', nargs='+', help='breakage names to run (default: all)')
    parser.add_argument('--markdown', help='write the result table to this file')
    parser.add_argument('--timeout', type=int, default=1200, help='seconds per test run (default 1200)')
    args = parser.parse_args()
    chosen = [b for b in BREAKAGES if not args.only or b.name in args.only]
    unknown = set(args.only or ()) - {b.name for b in BREAKAGES}
    if unknown:
        raise SystemExit(f'unknown breakages {sorted(unknown)}; accepted: {", ".join(b.name for b in BREAKAGES)}')
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix='panda-mutation-') as folder:
        copy = Path(folder)
        copy_checkout(copy)
        located = {b.name: locate(copy / 'panda_plugin', b.target) for b in chosen}
        for breakage in chosen:
            if located[breakage.name] is None and not breakage.optional:
                raise SystemExit(f'{breakage.target} is not in the package: update the breakage {breakage.name!r}')
        active = [b for b in chosen if located[b.name] is not None]
        expression = ' or '.join(f'({b.tests})' for b in active)
        if active:
            status, seconds, last, _ = run_tests(copy, expression, args.timeout)
            print(f'unbroken copy: {last} ({seconds:.0f} s)', flush=True)
            if status != 0:
                raise SystemExit('the unbroken copy fails its tests; fix them before checking breakages')
        for breakage in chosen:
            row = {'name': breakage.name, 'what': breakage.what, 'tests': breakage.tests, 'seconds': 0.0}
            if located[breakage.name] is None:
                row.update(where='-', result=f'pending (no `{breakage.target}` in the package yet)')
                rows.append(row)
                print(f"{breakage.name}: {row['result']}", flush=True)
                continue
            path, node, cls = located[breakage.name]
            original = path.read_text(encoding='utf-8')
            path.write_text(apply(breakage, path, node, cls), encoding='utf-8')
            try:
                status, seconds, last, failed = run_tests(copy, breakage.tests, args.timeout)
            finally:
                path.write_text(original, encoding='utf-8')
            where = f'`{path.relative_to(copy).as_posix()}`: `{breakage.target}`'
            result = 'caught' if status == 1 else ('not caught' if status == 0 else f'error (pytest status {status})')
            if status == 1:
                result += f' by `{failed}`'
            row.update(where=where, result=result, seconds=seconds)
            rows.append(row)
            print(f'{breakage.name}: {result} ({last}, {seconds:.0f} s)', flush=True)
    total = time.perf_counter() - start
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(markdown(rows, total), encoding='utf-8')
        print(f'wrote {args.markdown}')
    missed = [row['name'] for row in rows if not row['result'].startswith(('caught', 'pending'))]
    if missed:
        raise SystemExit(f'not caught: {", ".join(missed)}')


if __name__ == '__main__':
    main()
