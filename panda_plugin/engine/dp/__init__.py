"""Variance-scaled reverse diffusion: traversing the distortion-perception tradeoff (docs/dp.md)."""
