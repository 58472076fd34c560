"""``ScoreUNet``: a small noise-prediction UNet for images, conditioned on the noise level.

It predicts the noise ``e`` of ``x = sqrt(abar) x0 + sqrt(1 - abar) e`` from ``x`` and
``abar``, so ``score.EpsScore(unet)`` is an image score model for the sampler. Images are
B x C x H x W in [-1, 1] with H and W multiples of 8 (three halvings). Weights are
safetensors files whose metadata holds the arch options.
"""
from __future__ import annotations

import json
import math
from itertools import pairwise
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from panda_plugin.core.atomic import atomic_path
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.checkpoints import load_tensors

#: The experiment's weights (``python -m research.unet_prior train -opt research/unet_prior/train_score_unet.yml``,
#: then ``python -m research.unet_prior.export``).
SHIPPED = Path(__file__).with_name('dp-score-unet.safetensors')
#: Arch options of ``train_score_unet.yml`` (the experiment's weights).
DEFAULT_CONFIG = {'channels': 3, 'widths': [32, 48, 64, 64], 'emb_dim': 64}


def level_embedding(abar: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of the log signal-to-noise ratio ``log(abar / (1 - abar))``.

    Args:
        abar: (B,) cumulative signal factors in (0, 1).
        dim: Feature count (even).

    Returns:
        (B, dim) features.
    """
    abar = abar.clamp(1e-6, 1 - 1e-6)
    log_snr = (abar.log() - torch.log1p(-abar))[:, None]
    freqs = torch.exp(torch.linspace(math.log(0.05), math.log(20.0), dim // 2, device=abar.device,
                                     dtype=abar.dtype))
    angles = log_snr * freqs[None] / 4
    return torch.cat([angles.sin(), angles.cos()], 1)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with group norm, SiLU and a noise-level bias, plus a skip."""

    def __init__(self, c_in: int, c_out: int, emb: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(min(8, c_in), c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.level = nn.Linear(emb, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(min(8, c_out), c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.level(emb)[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class ScoreUNet(nn.Module):
    """Noise-prediction UNet: ``forward(x, abar) -> predicted noise``, shaped like ``x``.

    Args:
        channels: Image channels. Default 3.
        widths: Feature widths of the four resolutions (full, 1/2, 1/4, 1/8). Default
            (32, 48, 64, 96).
        emb_dim: Width of the noise-level embedding. Default 64.
    """

    def __init__(self, channels: int = 3, widths=(32, 48, 64, 96), emb_dim: int = 64):
        super().__init__()
        widths = [int(w) for w in widths]
        if len(widths) != 4 or min(widths) < 8:
            raise PandaInputError(f'ScoreUNet widths {widths!r}; accepted: four integers >= 8')
        self.config = {'channels': int(channels), 'widths': widths, 'emb_dim': int(emb_dim)}
        self.emb_dim = int(emb_dim)
        self.embed = nn.Sequential(nn.Linear(emb_dim, emb_dim * 2), nn.SiLU(), nn.Linear(emb_dim * 2, emb_dim * 2))
        emb = emb_dim * 2
        self.head = nn.Conv2d(channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList(ResBlock(a, b, emb) for a, b in pairwise(widths))
        self.middle = ResBlock(widths[3], widths[3], emb)
        self.up = nn.ModuleList(ResBlock(b + a, a, emb) for a, b in pairwise(widths))
        self.tail = nn.Sequential(nn.GroupNorm(min(8, widths[0]), widths[0]), nn.SiLU(),
                                  nn.Conv2d(widths[0], channels, 3, padding=1))

    def forward(self, x: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
        """Predict the noise of ``x`` (any float dtype; computed in the parameters' dtype).

        Args:
            x: B x C x H x W noisy images, H and W multiples of 8.
            abar: (B,) cumulative signal factors of their noise levels.

        Returns:
            The predicted noise, dtype of ``x``.
        """
        if x.ndim != 4 or x.shape[-2] % 8 or x.shape[-1] % 8:
            raise PandaInputError(f'ScoreUNet input of shape {tuple(x.shape)}; accepted: B x C x H x W '
                                  'with H and W multiples of 8')
        dtype = self.head.weight.dtype
        emb = self.embed(level_embedding(abar.to(dtype).reshape(-1).expand(x.shape[0]), self.emb_dim))
        h = self.head(x.to(dtype))
        skips = []
        for block in self.down:
            skips.append(h)
            h = block(F.avg_pool2d(h, 2), emb)
        h = self.middle(h, emb)
        for block in reversed(self.up):
            h = F.interpolate(h, scale_factor=2.0, mode='nearest')
            h = block(torch.cat([h, skips.pop()], 1), emb)
        return self.tail(h).to(x.dtype)


def save_score_unet(net: ScoreUNet, path) -> Path:
    """Write the network's weights and arch options as a safetensors file.

    Args:
        net: The network.
        path: Destination ``.safetensors`` file.

    Returns:
        The path.
    """
    from safetensors.torch import save_file

    tensors = {k: v.detach().float().contiguous().cpu() for k, v in net.state_dict().items()}
    with atomic_path(path, 'score UNet weights') as temporary:
        save_file(tensors, str(temporary), metadata={'score_unet_config': json.dumps(net.config)})
    return Path(path)


def load_score_unet(path=None, checkpoint_config: dict | None = None) -> ScoreUNet:
    """Load a ``ScoreUNet`` from safetensors (arch options in its metadata) or a BasicSR
    checkpoint (``.pth``, read with ``weights_only=True``; arch options from ``checkpoint_config``).

    Args:
        path: Weights file, or None for the shipped ones.
        checkpoint_config: ``network_g`` options (without ``type``) of a ``.pth`` file (default:
            ``DEFAULT_CONFIG``, the shipped recipe's); its ``params_ema`` are read if present.

    Returns:
        The network in eval mode, on the CPU.
    """
    path = Path(path) if path else SHIPPED
    if not path.is_file():
        raise PandaInputError(f'score UNet weights {str(path)!r} not found; accepted: a .safetensors file '
                              'written by save_score_unet or a net_g_*.pth checkpoint')
    if path.suffix == '.safetensors':
        from safetensors import safe_open
        from safetensors.torch import load_file

        with safe_open(str(path), 'pt') as handle:
            config = json.loads((handle.metadata() or {}).get('score_unet_config', 'null'))
        if config is None:
            raise PandaInputError(f'{path} has no score_unet_config metadata; accepted: files written by '
                                  'save_score_unet')
        state = load_file(str(path))
    else:
        config = dict(checkpoint_config or DEFAULT_CONFIG)
        state = load_tensors(path, 'score UNet checkpoint')
        state = state.get('params_ema', state.get('params', state))
    net = ScoreUNet(**config)
    try:
        net.load_state_dict(state)
    except RuntimeError as error:
        raise PandaInputError(f'{path} does not hold ScoreUNet weights of the options {config}: '
                              f'{str(error).splitlines()[0]}') from None
    return net.eval()
