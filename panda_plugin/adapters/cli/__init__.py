"""The ``panda`` command: the dispatcher (``main``) and one module of sub-commands per product."""
from panda_plugin.adapters.cli.main import main

__all__ = ['main']
