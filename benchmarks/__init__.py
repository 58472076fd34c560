"""Benchmarks and figure scripts, one package per product, run as modules from the repository root
(``python -m benchmarks.points.bench_points``)."""
