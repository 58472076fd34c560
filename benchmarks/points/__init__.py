"""Benchmarks of click regions: panoptic quality of the click methods and the second stage, their costs."""
