"""The package's layers: core (numpy) <- engine (torch) <- adapters, checked by reading the code."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'panda_plugin'
LAYERS = ('core', 'engine', 'adapters')
#: Third-party packages only the adapters may import.
ADAPTER_ONLY = ('basicsr', 'pyiqa', 'tensorboard')


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob('*.py'))


def imported_names(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding='utf-8'))
    nodes = tree.body if top_level_only else ast.walk(tree)
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize('layer', ['core', 'engine'])
def test_no_module_below_the_adapters_imports_basicsr_pyiqa_or_tensorboard(layer):
    offending = {str(path.relative_to(PACKAGE)): sorted(name for name in imported_names(path)
                                                        if name.split('.')[0] in ADAPTER_ONLY)
                 for path in modules(layer)}
    assert not {path: names for path, names in offending.items() if names}


@pytest.mark.parametrize('layer', LAYERS)
def test_layers_import_only_downward_at_module_level(layer):
    above = LAYERS[LAYERS.index(layer) + 1:]
    offending = {}
    for path in modules(layer):
        upward = [name for name in imported_names(path, top_level_only=True)
                  if name.split('.')[:2] in (['panda_plugin', other] for other in above)]
        if upward:
            offending[str(path.relative_to(PACKAGE))] = upward
    assert not offending


def test_the_core_needs_no_torch():
    offending = {str(path.relative_to(PACKAGE)): sorted(name for name in imported_names(path)
                                                        if name.split('.')[0] in ('torch', 'cv2', 'timm'))
                 for path in modules('core')}
    assert not {path: names for path, names in offending.items() if names}


def test_region_label_fields_are_spelled_in_one_module():
    from dataclasses import fields

    from panda_plugin.core.region_labels import LABEL_FIELDS, RegionLabels

    assert [field.name for field in fields(RegionLabels)] == list(LABEL_FIELDS)
    keys = [f"'{side}_{key}'" for side in ('anchor', 'target') for key in ('distortion', 'severity', 'score')]
    spelled = [path.relative_to(PACKAGE) for path in PACKAGE.rglob('*.py')
               if any(key in path.read_text(encoding='utf-8') for key in [*keys, "f'{side}_{"])]
    assert spelled == [Path('core/region_labels.py')]


def test_no_module_is_longer_than_400_lines():
    lengths = {str(path.relative_to(PACKAGE)): len(path.read_text(encoding='utf-8').splitlines())
               for path in PACKAGE.rglob('*.py')}
    assert not {path: lines for path, lines in lengths.items() if lines > 400}


HIDE = '''
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('basicsr', 'pyiqa', 'tensorboard'):
            raise ImportError(f'{name} is hidden')
sys.meta_path.insert(0, Hide())
'''


def test_import_and_compare_work_with_basicsr_and_pyiqa_hidden(tmp_path):
    script = HIDE + '''
import numpy as np, skimage.data
import panda_plugin
assert not any(m.split('.')[0] in ('basicsr', 'pyiqa', 'torch') for m in sys.modules), 'eager import'
image = skimage.data.coffee()[:128, :128]
graph = panda_plugin.compare(image, image, segmenter='grid:2x2')
assert graph.relation == 'same', graph
print('ok', len(graph))
'''
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('ok 4')
