"""Engine layer: the shared modules (image_io, regions, distortions, data) and one package per product.

Needs torch and the scientific stack; never imports BasicSR, pyiqa or TensorBoard. The products
(``panda``, ``points``, ``dp``) import the shared modules, not each other (``dp`` judges its
restorations with ``panda``'s network, so it may import ``panda``).
"""
import importlib

#: The product packages; each adds its region proposers to ``regions`` when imported.
PRODUCTS = ('panda', 'points', 'dp')


def load_products() -> None:
    """Import every product package, so that the names they register (region specs) are known."""
    for product in PRODUCTS:
        importlib.import_module(f'{__name__}.{product}')
