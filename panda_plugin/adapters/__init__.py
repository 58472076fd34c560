"""Adapters layer: BasicSR, pyiqa, TensorBoard, pictures and the ``panda`` command line."""
