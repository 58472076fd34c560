"""``python -m research.unet_prior ARGS``: the ``panda`` command with the ``unet`` prior added."""
import sys

import research.unet_prior  # noqa: F401 (adds the prior and the BasicSR names)
from panda_plugin.adapters.cli import main

sys.exit(main())
