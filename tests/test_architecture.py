"""The package's layers and products, checked by reading the code.

Layers: core (numpy) <- engine (torch) <- adapters; the package root (``panda_plugin/__init__.py``)
sits above them all. Every import, at module level or inside a function, goes down the layers.
Products: ``engine/panda``, ``engine/points`` and ``engine/dp`` import the shared engine modules
and the core, not each other (``dp`` may import ``panda``: its restorations are judged by PANDA's
network); the shared modules import no product (products register what they add). Inside a
function, the core and the engine import a module of the package only where ``LAZY`` says why;
the adapters and the package root import lazily wherever they like (start-up time of
``import panda_plugin`` and ``panda --help``; BasicSR and pyiqa load only when used).
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'panda_plugin'
LAYERS = ('core', 'engine', 'adapters')
#: Third-party packages only the adapters may import.
ADAPTER_ONLY = ('basicsr', 'pyiqa', 'tensorboard')
#: The products of the engine, and the other products each may import, with the reason.
PRODUCTS = ('panda', 'points', 'dp')
PRODUCT_USES = {('dp', 'panda'): 'panda_fd and the per-region report judge restorations with PANDA'}
#: Imports inside functions of the core and the engine: (module, imported module) -> why not at the top.
LAZY = {
    ('core/graph.py', 'panda_plugin.core.graph_json'): 'graph_json builds DistortionGraph: a cycle at module level',
    ('engine/dp/sweep.py', 'panda_plugin.engine.dp.feature_fd'): 'PANDA (timm) loads only when panda_fd is measured',
    ('engine/points/__init__.py', 'panda_plugin.engine.points.panoptic'): 'the panoptic network loads only when the '
                                                                            "'panoptic' spec is used",
    ('engine/points/proposer.py', 'panda_plugin.engine.points.learned'): 'the click networks load only for the '
                                                                           "'learned' method",
    ('engine/regions/sam.py', 'panda_plugin.engine.checkpoints'): 'torch loads only when a SAM checkpoint is read',
}


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob('*.py'))


def imports(path: Path) -> list[tuple[str, bool]]:
    """Every module an import statement names, and whether it is at module level.

    ``from a import b`` names ``a`` and ``a.b`` (``b`` may be a module).
    """
    tree = ast.parse(path.read_text(encoding='utf-8'))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.module, id(node) in top)]
            found += [(f'{node.module}.{alias.name}', id(node) in top) for alias in node.names]
    return found


def imported_names(path: Path, top_level_only: bool = False) -> set[str]:
    return {name for name, at_top in imports(path) if at_top or not top_level_only}


def product_of(parts) -> str | None:
    """The product a module path (``engine/points/x.py``) or dotted name belongs to."""
    return parts[1] if len(parts) > 2 and parts[0] == 'engine' and parts[1] in PRODUCTS else None


@pytest.mark.parametrize('layer', ['core', 'engine'])
def test_no_module_below_the_adapters_imports_basicsr_pyiqa_or_tensorboard(layer):
    offending = {str(path.relative_to(PACKAGE)): sorted(name for name in imported_names(path)
                                                        if name.split('.')[0] in ADAPTER_ONLY)
                 for path in modules(layer)}
    assert not {path: names for path, names in offending.items() if names}


@pytest.mark.parametrize('layer', LAYERS)
def test_layers_import_only_downward_at_module_level_and_inside_functions(layer):
    above = LAYERS[LAYERS.index(layer) + 1:]
    offending = {}
    for path in modules(layer):
        upward = [name for name in imported_names(path)
                  if name.split('.')[:2] in (['panda_plugin', other] for other in above)]
        if upward:
            offending[str(path.relative_to(PACKAGE))] = upward
    assert not offending


def test_the_products_import_each_other_only_as_listed_and_the_shared_engine_none():
    offending = {}
    for path in modules('engine'):
        mine = product_of(path.relative_to(PACKAGE).parts)
        for name, _ in imports(path):
            parts = name.split('.')
            theirs = product_of(parts[1:]) if parts[0] == 'panda_plugin' else None
            if theirs and theirs != mine and (mine, theirs) not in PRODUCT_USES:
                offending.setdefault(str(path.relative_to(PACKAGE)), []).append(name)
    assert not offending


def test_the_core_and_the_engine_import_inside_functions_only_as_listed():
    found = {}
    for path in modules('core') + modules('engine'):
        where = str(path.relative_to(PACKAGE).as_posix())
        for name, at_top in imports(path):
            if not at_top and name.startswith('panda_plugin') and (where, name) not in LAZY:
                parent = name.rsplit('.', 1)[0]
                if (where, parent) not in LAZY:  # ``from a import b`` is listed under ``a``
                    found.setdefault(where, []).append(name)
    assert not found
    used = {(str(path.relative_to(PACKAGE).as_posix()), name) for path in modules('core') + modules('engine')
            for name, at_top in imports(path) if not at_top}
    assert set(LAZY) <= used, f'listed but gone: {sorted(set(LAZY) - used)}'


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
