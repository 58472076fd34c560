"""Matplotlib pictures: graphs and score maps, click regions, duels."""
