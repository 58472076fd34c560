"""PANDASET / PANDABENCH data: bundled images, versions, pairs, LMDB records, the dataset."""
