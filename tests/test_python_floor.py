"""The Python floor: ``setup.py`` and the README state the same version, and every module of
the package, its tests and benchmarks parses with that version's grammar."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stated_floor() -> tuple[int, int]:
    required = re.search(r"python_requires='>=(\d+)\.(\d+)'", (ROOT / 'setup.py').read_text(encoding='utf-8'))
    readme = re.search(r'with Python (\d+)\.(\d+)\+', (ROOT / 'README.md').read_text(encoding='utf-8'))
    assert required and readme, 'setup.py python_requires or the README set-up line lost its version'
    assert required.groups() == readme.groups(), (required.groups(), readme.groups())
    return int(required[1]), int(required[2])


def test_setup_and_readme_state_one_floor_that_the_code_parses_on():
    floor = stated_floor()
    assert floor >= (3, 10), 'zip(..., strict=True) in the tests needs Python 3.10'
    files = [path for folder in ('panda_plugin', 'tests', 'benchmarks') for path in sorted((ROOT / folder).rglob('*.py'))]
    assert len(files) > 100
    for path in files:
        ast.parse(path.read_text(encoding='utf-8'), str(path), feature_version=floor)
