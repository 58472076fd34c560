"""Core layer: taxonomy, masks, region labels and the distortion graph with its JSON form.

Needs numpy only (no torch): anyone can read, validate and write a graph.
"""
