"""Fréchet distance between the PANDA encoder features of two image sets (a perception measure).

Each image is resized to the network's ``input_size`` (as PANDA sees it) and encoded by the
PANDA encoder (for panda-tiny: MobileNetV3 levels fused to 128 channels on a 32 x 32 grid, one
token per 8 x 8 input pixels). Every grid position is one sample, so the distance compares the
distributions of *token* features, not of one vector per image: with a handful of images it is
a patch-level Fréchet distance, pooled over all tokens of all images of a set.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.panda.predictor import resolve_model
from panda_plugin.engine.tensors import rgb8_to_tensor


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to two sample sets.

    ``|mu_a - mu_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2))``.

    Args:
        a: (N, D) samples.
        b: (M, D) samples.

    Returns:
        The distance (>= 0; 0 for identical sets up to rounding).
    """
    from scipy.linalg import sqrtm

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise PandaInputError(f'sample sets {a.shape} and {b.shape}; accepted: (N, D) and (M, D), N, M >= 2')
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():  # singular product: regularise both sides slightly
        eps = 1e-6 * np.eye(a.shape[1])
        root = sqrtm((cov_a + eps) @ (cov_b + eps))
    trace = np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root.real)
    return float(max(((mean_a - mean_b) ** 2).sum() + trace, 0.0))


@torch.no_grad()
def panda_tokens(images, model=None) -> np.ndarray:
    """PANDA encoder features of images, one row per grid position (token).

    Args:
        images: HxWx3 uint8 images (any sizes).
        model: PANDA network or weights name (default: the shipped ``panda-tiny``).

    Returns:
        (tokens of all images, D) float64 array.
    """
    network = resolve_model(model)
    device = next(network.parameters()).device
    rows = []
    for image in images:
        x = rgb8_to_tensor(image, device)[None]
        size = (network.input_size, network.input_size)
        x = F.interpolate(x, size=size, mode='bilinear', antialias=True, align_corners=False)
        features = network.encoder(x)[0]
        rows.append(features.flatten(1).T.double().cpu().numpy())
    return np.concatenate(rows)


def panda_fd(restored, references, model=None) -> float:
    """Fréchet distance between the PANDA token features of restorations and references.

    Args:
        restored: HxWx3 uint8 restorations.
        references: HxWx3 uint8 references (the same number or not).
        model: PANDA network or weights name (default: ``panda-tiny``).

    Returns:
        The distance (lower: token statistics closer to the references').
    """
    return frechet_distance(panda_tokens(restored, model), panda_tokens(references, model))
