"""``QuantBatchNorm``: an inference batch-norm that could not be folded, as a per-channel affine map.

``y = requant(x * scale + shift)`` with ``scale = gamma / sqrt(var + eps)`` in the ``weight``
format and ``shift = beta - mean * scale`` in the ``bias`` format: ``golden.norm.affine`` (what
``rtl/norm/fixed_affine.sv`` computes). The channel is dimension 1 (``(N, C)`` or ``(N, C, H, W)``).
"""

from __future__ import annotations

import torch
from torch import nn

from golden.norm import affine_acc_frac
from quant import torch_fixed as tf
from quant.config import LayerFormats


class QuantBatchNorm(nn.Module):
    """Per-channel affine map with trainable float ``scale`` and ``shift``, quantized on use.

    Attributes:
        formats: ``data_in``, ``weight`` (the scale's), ``bias`` (the shift's), ``data_out``.
        scale, shift: float parameters, shape ``(C,)``.
    """

    def __init__(self, bn: nn.BatchNorm1d | nn.BatchNorm2d, formats: LayerFormats) -> None:
        super().__init__()
        if formats.weight is None or formats.bias is None:
            raise ValueError("a batch-norm needs weight (scale) and bias (shift) formats")
        if formats.bias.frac > affine_acc_frac(formats.data_in, formats.weight):
            raise ValueError(
                f"bias (shift) frac {formats.bias.frac} exceeds data_in frac + weight frac "
                f"{affine_acc_frac(formats.data_in, formats.weight)}"
            )
        with torch.no_grad():
            var, mean = bn.running_var.double(), bn.running_mean.double()
            gamma = bn.weight.double() if bn.affine else torch.ones_like(var)
            beta = bn.bias.double() if bn.affine else torch.zeros_like(var)
            scale = gamma / torch.sqrt(var + bn.eps)
        self.formats = formats
        self.images = isinstance(bn, nn.BatchNorm2d)
        self.scale = nn.Parameter(scale.float())
        self.shift = nn.Parameter((beta - mean * scale).float())

    def int_scale(self) -> torch.Tensor:
        """Raw int64 scales ``(C,)`` in ``formats.weight``."""
        assert self.formats.weight is not None
        return tf.float_to_fixed(self.scale, self.formats.weight)

    def int_shift(self) -> torch.Tensor:
        """Raw int64 shifts ``(C,)`` in ``formats.bias``."""
        assert self.formats.bias is not None
        return tf.float_to_fixed(self.shift, self.formats.bias)

    def int_forward(self, q: torch.Tensor) -> torch.Tensor:
        """Raw int64 inputs (channel in dim 1) in ``data_in`` to raw int64 outputs in ``data_out``."""
        f = self.formats
        assert f.weight is not None and f.bias is not None
        shape = (1, -1) + (1,) * (q.dim() - 2)
        acc_frac = affine_acc_frac(f.data_in, f.weight)
        acc = q * self.int_scale().reshape(shape) + tf.shift_round(self.int_shift(), f.bias.frac - acc_frac).reshape(
            shape
        )
        return tf.requantize(acc, acc_frac, f.data_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float in, float out; exact golden values, straight-through gradients."""
        f = self.formats
        assert f.weight is not None and f.bias is not None
        q = tf.float_to_fixed(x, f.data_in)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        sq = tf.ste(tf.fixed_to_float(self.int_scale(), f.weight), self.scale)
        bq = tf.ste(tf.fixed_to_float(self.int_shift(), f.bias), self.shift)
        xq = tf.ste(tf.fixed_to_float(q, f.data_in), x)
        shadow = xq.to(sq.dtype) * sq.reshape(shape) + bq.reshape(shape)
        return tf.ste(tf.fixed_to_float(self.int_forward(q), f.data_out), shadow)

    def to_float(self) -> nn.Module:
        """A float batch-norm computing ``x * scale + shift`` in evaluation mode."""
        cls = nn.BatchNorm2d if self.images else nn.BatchNorm1d
        bn = cls(self.scale.numel(), eps=0.0).eval()
        with torch.no_grad():
            bn.weight.copy_(self.scale)
            bn.bias.copy_(self.shift)
        return bn

    def extra_repr(self) -> str:
        f = self.formats
        return f"{self.scale.numel()}, data_in={f.data_in}, scale={f.weight}, shift={f.bias}, data_out={f.data_out}"
