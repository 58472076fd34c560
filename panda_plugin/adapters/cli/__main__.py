"""``python -m panda_plugin.adapters.cli``: the ``panda`` command."""
import sys

from panda_plugin.adapters.cli import main

sys.exit(main())
