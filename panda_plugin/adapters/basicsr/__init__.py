"""BasicSR adapters: the arch, losses, dataset, metric and models in BasicSR's registries,
and ``panda train``/``panda test``.

Importing this package imports BasicSR (with the torchvision shim, see
``adapters.import_hooks``); ``import panda_plugin`` registers the plugin whenever BasicSR is
imported.
"""
from panda_plugin.adapters.import_hooks import import_basicsr

import_basicsr()
