"""Linear measurement operators ``y = A x + sigma n``: identity, Gaussian blur, downsampling."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from panda_plugin.core.errors import PandaInputError

#: Measurement noise of ``blur`` and ``sr`` when the spec names none (images in [-1, 1]).
DEFAULT_NOISE = 0.01


class Identity:
    """``A x = x`` (denoising)."""

    name = 'noise'
    gain = 1.0  # A A^T = gain * I
    norm2 = 1.0  # largest eigenvalue of A^T A

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """A right inverse of ``A`` (the identity)."""
        return y


class GaussianBlur:
    """Per-channel Gaussian blur of standard deviation ``sigma`` pixels, reflect padding.

    Args:
        sigma: Kernel standard deviation in pixels (> 0); the kernel spans 3 sigma each side.
    """

    name = 'blur'

    def __init__(self, sigma: float):
        if not sigma > 0:
            raise PandaInputError(f'blur sigma {sigma!r}; accepted: a number > 0')
        self.sigma = float(sigma)
        radius = max(1, math.ceil(3 * self.sigma))
        t = torch.arange(-radius, radius + 1, dtype=torch.float64)
        kernel = torch.exp(-t ** 2 / (2 * self.sigma ** 2))
        self.kernel = kernel / kernel.sum()
        self.radius = radius
        # A A^T is far from a multiple of I; its largest eigenvalue (1: low frequencies pass)
        # is the safe choice for the x0_hat uncertainty seen through A
        self.gain = self.norm2 = 1.0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        k = self.kernel.to(x)
        pad = min(self.radius, x.shape[-1] - 1, x.shape[-2] - 1)
        if pad < self.radius:
            raise PandaInputError(f'image of {tuple(x.shape[-2:])} pixels is too small for a blur of '
                                  f'sigma {self.sigma}; accepted: sides > {self.radius}')
        x = F.pad(x, (pad,) * 4, mode='reflect')
        x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
        return F.conv2d(x, k.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """The blurred image itself (a starting point, not an inverse)."""
        return y


class Downsample:
    """Average pooling by an integer ``factor`` (the sides must be multiples of it).

    Args:
        factor: Downsampling factor (>= 2).
    """

    name = 'sr'

    def __init__(self, factor: int):
        if int(factor) != factor or factor < 2:
            raise PandaInputError(f'downsampling factor {factor!r}; accepted: an integer >= 2')
        self.factor = int(factor)
        self.gain = 1.0 / self.factor ** 2  # A A^T = I / factor^2
        self.norm2 = self.gain

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.factor or x.shape[-2] % self.factor:
            raise PandaInputError(f'image of {tuple(x.shape[-2:])} pixels; accepted for sr:{self.factor}: '
                                  f'sides that are multiples of {self.factor}')
        return F.avg_pool2d(x, self.factor)

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Nearest-neighbour upsampling (a right inverse of average pooling)."""
        return F.interpolate(y, scale_factor=self.factor, mode='nearest')


@dataclass(frozen=True)
class Degradation:
    """An operator with its measurement noise and the spec it was read from.

    Attributes:
        operator: ``Identity``, ``GaussianBlur`` or ``Downsample``.
        noise: Standard deviation of the additive Gaussian noise (images in [-1, 1]).
        spec: The text form, e.g. ``'blur:2'``.
    """

    operator: object
    noise: float
    spec: str

    def measure(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``y = A x + noise * n`` with standard normal ``n``.

        Args:
            x: Bx C x H x W clean images.
            generator: Optional random generator.

        Returns:
            The measurement.
        """
        clean = self.operator(x)
        n = torch.randn(clean.shape, generator=generator, dtype=clean.dtype, device='cpu').to(clean.device)
        return clean + self.noise * n


def parse_degradation(spec: str) -> Degradation:
    """Read ``noise:SIGMA``, ``blur:SIGMA[:NOISE]`` or ``sr:FACTOR[:NOISE]``.

    Noise levels are on images scaled to [-1, 1] (``noise:0.1`` is 0.05 on a [0, 1] scale).

    Args:
        spec: The degradation text.

    Returns:
        The degradation.

    Raises:
        PandaInputError: An unknown kind or a bad number.
    """
    parts = str(spec).split(':')
    accepted = 'noise:SIGMA, blur:SIGMA[:NOISE] or sr:FACTOR[:NOISE], e.g. noise:0.1, blur:2, sr:4'
    try:
        values = [float(p) for p in parts[1:]]
    except ValueError:
        raise PandaInputError(f'degradation {spec!r}; accepted: {accepted}') from None
    if not all(math.isfinite(v) for v in values):
        raise PandaInputError(f'degradation {spec!r}: its numbers must be finite; accepted: {accepted}')
    kind = parts[0]
    if kind == 'noise' and len(values) == 1 and values[0] > 0:
        return Degradation(Identity(), values[0], spec)
    if kind in ('blur', 'sr') and len(values) in (1, 2):
        noise = values[1] if len(values) == 2 else DEFAULT_NOISE
        if noise <= 0:
            raise PandaInputError(f'degradation {spec!r}: the noise must be > 0')
        operator = GaussianBlur(values[0]) if kind == 'blur' else Downsample(values[0])
        return Degradation(operator, noise, spec)
    raise PandaInputError(f'degradation {spec!r}; accepted: {accepted}')
