"""Importing BasicSR 1.4.2 beside current torchvision, and registering into its registries.

BasicSR 1.4.2 imports ``torchvision.transforms.functional_tensor``, which torchvision 0.17
removed; the shim maps the old module name onto ``torchvision.transforms.functional`` before
BasicSR is imported.
"""
from __future__ import annotations

import importlib
import sys


def import_basicsr():
    """Import BasicSR with the torchvision shim in place.

    Returns:
        The ``basicsr`` module, or None when BasicSR is not installed.
    """
    if 'basicsr' not in sys.modules:
        try:
            importlib.import_module('torchvision.transforms.functional_tensor')
        except ImportError:
            try:
                functional = importlib.import_module('torchvision.transforms.functional')
            except ImportError:
                return None
            sys.modules['torchvision.transforms.functional_tensor'] = functional
    try:
        return importlib.import_module('basicsr')
    except ImportError:
        return None


def register(kind: str):
    """Class/function decorator registering an object in a BasicSR registry when available.

    Registering the same name again (e.g. a module reloaded) is a no-op instead of BasicSR's
    assertion error.

    Args:
        kind: ``'arch'``, ``'model'``, ``'loss'``, ``'metric'`` or ``'dataset'``.

    Returns:
        The decorator; it returns the object unchanged.
    """

    def decorate(obj):
        if import_basicsr() is not None:
            registry_module = importlib.import_module('basicsr.utils.registry')
            registry = getattr(registry_module, f'{kind.upper()}_REGISTRY')
            if obj.__name__ not in registry:
                registry.register(obj)
        return obj

    return decorate
