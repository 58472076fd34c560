"""``python -m research.point_distance ARGS``: the ``panda`` command with ``PointDistanceNet`` added."""
import sys

import research.point_distance  # noqa: F401 (adds the network and the BasicSR names)
from panda_plugin.adapters.cli import main

sys.exit(main())
