"""PANDA graphs: prediction, the metric and loss, region scoring, folders, duels, PANDABENCH, the network."""
