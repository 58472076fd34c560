"""Benchmarks of PANDA graphs: prediction speed and agreement, the label oracle, data generation, training ablations."""
