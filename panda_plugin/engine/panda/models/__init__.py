"""The PANDA network (encoder, token pool, degradation decoder, heads) and its loss."""
