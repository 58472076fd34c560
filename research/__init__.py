"""Methods that were tried and not chosen, kept with their recipes and results (see README.md).

Not part of the ``panda-plugin`` wheel. Each experiment is a package that adds its names to the
plugin when imported and runs the ``panda`` command with them: ``python -m research.NAME ARGS``.
"""
