"""The plugin's registration in pyiqa and BasicSR, run when those packages are imported.

``import panda_plugin`` imports neither (both are slow to import and optional); it calls
``install_import_hooks``, which registers the pyiqa metric and the BasicSR names right after
each package's own import finishes, or at once when it is already imported. BasicSR 1.4.2
imports ``torchvision.transforms.functional_tensor``, which torchvision 0.17 removed, so
the old name is mapped onto ``torchvision.transforms.functional`` just before BasicSR loads.
BasicSR's option parsing is made safe and checked (``adapters.option_loading``) before
anything else, and on a machine without CUDA, BasicSR's two CUDA-only functions (resuming, and
starting distributed training) get CPU versions once it is imported (``adapters.basicsr.cpu``).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Callable

from panda_plugin.core.errors import PandaInputError

#: How to install BasicSR 1.4.2 (its sdist needs torch at build time).
BASICSR_INSTALL = 'pip install --no-build-isolation basicsr==1.4.2'


def install_import_hooks() -> None:
    """Register the plugin in pyiqa and BasicSR now or whenever they get imported."""
    when_imported('pyiqa', _register_pyiqa)
    when_imported('basicsr', _register_basicsr, before=apply_torchvision_shim)


def apply_torchvision_shim() -> None:
    """Provide ``torchvision.transforms.functional_tensor`` when torchvision no longer has it."""
    if 'torchvision.transforms.functional_tensor' in sys.modules:
        return
    try:
        importlib.import_module('torchvision.transforms.functional_tensor')
    except ImportError:
        try:
            functional = importlib.import_module('torchvision.transforms.functional')
        except ImportError:
            return
        sys.modules['torchvision.transforms.functional_tensor'] = functional


def import_basicsr():
    """Import BasicSR with the torchvision shim in place (the import hook registers the plugin).

    Returns:
        The ``basicsr`` module.

    Raises:
        PandaInputError: BasicSR is not installed.
    """
    apply_torchvision_shim()
    try:
        module = importlib.import_module('basicsr')
    except ImportError:
        raise PandaInputError(f'this needs BasicSR; install it with: {BASICSR_INSTALL}') from None
    return module


def _register_pyiqa() -> None:
    from panda_plugin.adapters.pyiqa import register_pyiqa_metric

    register_pyiqa_metric()


def _register_basicsr() -> None:
    from panda_plugin.adapters.basicsr.cpu import install_cpu_fallbacks
    from panda_plugin.adapters.basicsr.registry import register_plugin
    from panda_plugin.adapters.option_loading import install_safe_option_loading

    install_safe_option_loading()  # first: no option file is read unsafely, even if registering fails
    register_plugin()
    install_cpu_fallbacks()  # only without CUDA, where BasicSR's resume and init_dist fail


def when_imported(name: str, after: Callable[[], None], before: Callable[[], None] | None = None) -> None:
    """Call ``after`` once package ``name`` is imported: now if it already is, else right after its
    own import finishes (``before`` runs just before that import starts).

    Args:
        name: Top-level package name, e.g. ``'pyiqa'``.
        after: Called with no arguments once the package is fully imported.
        before: Called with no arguments before the package's import starts (only the first
            caller's for one package). Default: none.
    """
    module = sys.modules.get(name)
    if module is not None and getattr(module, '__spec__', None) is not None and not _initialising(module):
        after()
        return
    watcher = next((finder for finder in sys.meta_path if isinstance(finder, _Watcher) and finder.name == name), None)
    if watcher is None:
        sys.meta_path.insert(0, _Watcher(name, after, before))
    elif after not in watcher.after:
        watcher.after.append(after)


def _initialising(module) -> bool:
    return bool(getattr(module.__spec__, '_initializing', False))


class _Watcher(importlib.abc.MetaPathFinder):
    """Finds one package through the other finders and wraps its loader."""

    def __init__(self, name: str, after, before):
        self.name, self.after, self.before = name, [after], before
        self._searching = False

    def find_spec(self, fullname, path=None, target=None):
        # a lookup without an import (``importlib.util.find_spec``) keeps the watcher in place;
        # it leaves ``sys.meta_path`` once the package has been loaded through it
        if fullname != self.name or self._searching:
            return None
        if self.before is not None:
            self.before()
        self._searching = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._searching = False
        if spec is not None and spec.loader is not None:
            spec.loader = _CallingLoader(spec.loader, self)
        return spec


class _CallingLoader(importlib.abc.Loader):
    """The package's own loader, followed by a callback."""

    def __init__(self, loader, watcher):
        self._loader, self._watcher = loader, watcher

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        if self._watcher in sys.meta_path:
            sys.meta_path.remove(self._watcher)
        self._loader.exec_module(module)
        for after in self._watcher.after:
            after()
