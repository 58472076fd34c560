"""Data shared by the products: bundled and procedural images, photographs, LMDB records and their integrity checks, reference images."""
