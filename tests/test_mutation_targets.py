"""The mutation check (`make mutation`) still finds every function it breaks and every test that
must catch it: a rename in the package fails here, in the suite, not only in the slow check."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _mutation_smoke():
    spec = importlib.util.spec_from_file_location('mutation_smoke', ROOT / 'benchmarks' / 'mutation_smoke.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


SMOKE = _mutation_smoke()
TEST_NAMES = {name for path in (ROOT / 'tests').glob('test_*.py')
              for name in re.findall(r'^def (test_\w+)', path.read_text(encoding='utf-8'), re.MULTILINE)}


@pytest.mark.parametrize('breakage', SMOKE.BREAKAGES, ids=lambda breakage: breakage.name)
def test_every_breakage_finds_its_target_and_its_tests(breakage):
    assert SMOKE.locate(ROOT / 'panda_plugin', breakage.target) is not None, breakage.target
    named = breakage.tests.split(' or ')
    assert all(name.split('[')[0] in TEST_NAMES for name in named), breakage.tests
