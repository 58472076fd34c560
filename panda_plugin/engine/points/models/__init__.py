"""Networks and losses of click regions; the pixel encoder they share."""
