"""Benchmarks of the DP sampler: sweeps, priors, lambda maps, the 2-D toy, fitting the patch prior."""
