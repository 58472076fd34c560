"""Bridges to BasicSR, pyiqa and TensorBoard."""
