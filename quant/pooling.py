"""Quantized average pooling: window means as ``golden.pool.avg_reduce`` computes them.

The exact sum of each window is multiplied by ``RECIP = round(2**recip_frac / window)``
(``golden.pool.avg_recip``) and rounded half up and saturated once to ``data_out``: exactly the
mean for a power-of-two window, within one output step of it otherwise. That is what
``rtl/pool/pool_avg.sv`` computes, fed by ``conv_window`` (windows) or, for the global pooling,
directly by the image's pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from golden.pool import avg_recip
from quant import torch_fixed as tf
from quant.config import LayerFormats

#: Fraction bits of the reciprocal of the window size (``pool_avg``'s ``RECIP_FRAC``).
RECIP_FRAC = 16


def _pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[-1]))


class _AveragePool(nn.Module):
    """What both poolings share: formats, the reciprocal and the rounding of window sums."""

    def __init__(self, formats: LayerFormats, recip_frac: int = RECIP_FRAC) -> None:
        super().__init__()
        self.formats = formats
        self.recip_frac = recip_frac

    def _mean(self, sums: torch.Tensor, window: int) -> torch.Tensor:
        recip = avg_recip(window, self.recip_frac)
        return tf.requantize(sums * recip, self.formats.data_in.frac + self.recip_frac, self.formats.data_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float in, float out; exact golden values, gradient of the float pooling."""
        q = tf.float_to_fixed(x, self.formats.data_in)
        shadow = self.to_float()(tf.ste(tf.fixed_to_float(q, self.formats.data_in), x))
        return tf.ste(tf.fixed_to_float(self.int_forward(q), self.formats.data_out), shadow)

    def extra_repr(self) -> str:
        return f"data_in={self.formats.data_in}, data_out={self.formats.data_out}, recip_frac={self.recip_frac}"


class QuantAvgPool2d(_AveragePool):
    """``nn.AvgPool2d`` (zero padding counted in the window, as torch's default; no ceil_mode)."""

    def __init__(self, pool: nn.AvgPool2d, formats: LayerFormats, recip_frac: int = RECIP_FRAC) -> None:
        super().__init__(formats, recip_frac)
        if pool.ceil_mode or not pool.count_include_pad or pool.divisor_override is not None:
            raise ValueError("AvgPool2d with ceil_mode, count_include_pad=False or divisor_override is not supported")
        self.kernel_size = _pair(pool.kernel_size)
        self.stride = _pair(pool.stride if pool.stride is not None else pool.kernel_size)
        self.padding = _pair(pool.padding)

    def int_forward(self, q: torch.Tensor) -> torch.Tensor:
        """Raw int64 ``(N, C, H, W)`` in ``data_in`` to raw int64 window means in ``data_out``."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        windows = F.pad(q, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
        return self._mean(windows.sum(dim=(-1, -2)), kh * kw)

    def to_float(self) -> nn.Module:
        return nn.AvgPool2d(self.kernel_size, self.stride, self.padding)


class QuantGlobalAvgPool(_AveragePool):
    """``nn.AdaptiveAvgPool2d(1)``: the mean of every channel over the whole image."""

    def int_forward(self, q: torch.Tensor) -> torch.Tensor:
        """Raw int64 ``(N, C, H, W)`` to raw int64 ``(N, C, 1, 1)`` channel means in ``data_out``."""
        return self._mean(q.sum(dim=(-1, -2), keepdim=True), q.shape[-1] * q.shape[-2])

    def to_float(self) -> nn.Module:
        return nn.AdaptiveAvgPool2d(1)
