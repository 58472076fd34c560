"""PANDASET data: versions, pairs, the builder and the training dataset."""
