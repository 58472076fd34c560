"""``ClickSeparationLoss``: trains ``ClickBoundaryNet`` from the clicks of each image alone.

Two clicks of one image lie in two different objects, so every path between them crosses a
border. Four terms, on the border logits ``z`` (probability ``b = sigmoid(z)``):

* **separation** (multiple-instance): for each pair of clicks, the cheapest 8-connected path
  between them under the current step cost ``1 + path_weight * b`` (``b`` detached; one
  ``skimage.graph.MCP_Geometric`` run per click) must hold a border: a soft maximum of ``z`` on
  the path (log-mean-exp at ``temperature``) is pushed up, ``softplus(-max)``. The cheapest path
  goes through the weakest part of the borders found so far, so this closes their gaps.
* **click**: clicked pixels are inside objects, ``softplus(z)`` there.
* **sparsity**: borders are rare, ``softplus(z)`` averaged over every pixel.
* **smoothness**: a pixel whose four neighbours have nearly its colour (``exp(-|dLab| / 2)``
  above ``threshold`` for each) is not on a border, ``softplus(z)`` averaged over such pixels.

Only the image and the clicked pixels are read; the dense ground truth never is.
"""
from __future__ import annotations

import numpy as np
import torch
from skimage.graph import MCP_Geometric
from torch import nn
from torch.nn import functional as F

from panda_plugin.engine.colour import rgb_to_lab


def click_paths(cost: np.ndarray, xy: np.ndarray) -> list:
    """The cheapest 8-connected path between every pair of clicks.

    Args:
        cost: HxW positive step costs.
        xy: Nx2 integer (x, y) clicks inside the grid.

    Returns:
        ``N * (N - 1) / 2`` int64 arrays of flat pixel indices, pairs (0, 1), (0, 2), ...
    """
    width = cost.shape[1]
    paths = []
    for first in range(len(xy) - 1):
        mcp = MCP_Geometric(cost, fully_connected=True)
        mcp.find_costs([(int(xy[first, 1]), int(xy[first, 0]))])
        for second in range(first + 1, len(xy)):
            steps = np.asarray(mcp.traceback((int(xy[second, 1]), int(xy[second, 0]))), np.int64)
            paths.append(steps[:, 0] * width + steps[:, 1])
    return paths


def uniform_colour(images: torch.Tensor, threshold: float) -> torch.Tensor:
    """Pixels whose four neighbours all have nearly their colour.

    Args:
        images: Bx3xHxW in [0, 1].
        threshold: Smallest similarity ``exp(-|dLab| / 2)`` to each neighbour.

    Returns:
        BxHxW bool.
    """
    lab = rgb_to_lab(images, 'skimage')  # the convention the click networks were trained with
    across = (lab[..., :, 1:] - lab[..., :, :-1]).norm(dim=1)  # Bx H x W-1
    down = (lab[..., 1:, :] - lab[..., :-1, :]).norm(dim=1)  # B x H-1 x W
    largest = torch.zeros_like(lab[:, 0])
    largest[..., :, :-1] = torch.maximum(largest[..., :, :-1], across)
    largest[..., :, 1:] = torch.maximum(largest[..., :, 1:], across)
    largest[..., :-1, :] = torch.maximum(largest[..., :-1, :], down)
    largest[..., 1:, :] = torch.maximum(largest[..., 1:, :], down)
    return torch.exp(-largest / 2) > threshold


class ClickSeparationLoss(nn.Module):
    """Separation, click, sparsity and smoothness terms (see the module docstring).

    Args:
        separation_weight: Weight of the separation term. Default: 1.
        click_weight: Weight of the click term. Default: 1.
        sparsity_weight: Weight of the sparsity term. Default: 0.5.
        smooth_weight: Weight of the smoothness term. Default: 1.
        path_weight: Border weight of the step cost the paths are found on. Default: 100.
        temperature: Temperature of the soft maximum along a path. Default: 0.25.
        threshold: Colour similarity of the smoothness term. Default: 0.3.
    """

    def __init__(self, separation_weight: float = 1.0, click_weight: float = 1.0, sparsity_weight: float = 0.5,
                 smooth_weight: float = 1.0, path_weight: float = 100.0, temperature: float = 0.25,
                 threshold: float = 0.3):
        super().__init__()
        self.weights = dict(l_separation=separation_weight, l_click=click_weight, l_sparsity=sparsity_weight,
                            l_smooth=smooth_weight)
        self.path_weight, self.temperature, self.threshold = path_weight, temperature, threshold

    def forward(self, logits: torch.Tensor, images: torch.Tensor, points: torch.Tensor,
                valid: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Loss of one batch.

        Args:
            logits: Bx1xHxW border logits of ``ClickBoundaryNet``.
            images: Bx3xHxW images in [0, 1] (the network's input).
            points: BxKx2 (x, y) clicks, in pixels of ``images``.
            valid: BxK bool, False for padding clicks.

        Returns:
            (total loss, ``{'l_separation', 'l_click', 'l_sparsity', 'l_smooth'}``).
        """
        logits = logits[:, 0]
        height, width = logits.shape[-2:]
        costs = 1.0 + self.path_weight * torch.sigmoid(logits).detach().cpu().double().numpy()
        separation, clicks = [], []
        for index in range(len(logits)):
            xy = points[index][valid[index]].round().long()
            xy[:, 0].clamp_(0, width - 1)
            xy[:, 1].clamp_(0, height - 1)
            flat = logits[index].flatten()
            clicks.append(F.softplus(flat[xy[:, 1] * width + xy[:, 0]]))
            for path in click_paths(costs[index], xy.cpu().numpy()):
                on_path = flat[torch.from_numpy(path).to(flat.device)] / self.temperature
                peak = self.temperature * (torch.logsumexp(on_path, 0) - np.log(len(path)))
                separation.append(F.softplus(-peak))
        uniform = uniform_colour(images, self.threshold).float()
        terms = {'l_separation': torch.stack(separation).mean() if separation else logits.new_zeros(()),
                 'l_click': torch.cat(clicks).mean(),
                 'l_sparsity': F.softplus(logits).mean(),
                 'l_smooth': (F.softplus(logits) * uniform).sum() / uniform.sum().clamp_min(1.0)}
        total = sum(self.weights[name] * value for name, value in terms.items())
        return total, {name: value.detach() for name, value in terms.items()}
