"""Quantized PyTorch modules that compute exactly what golden/ computes.

Every module takes float tensors and returns float tensors. Inside, it first quantizes its input
with ``float_to_fixed(x, formats.data_in)`` (round half up, saturate), then does the golden
integer arithmetic with torch int64 ops, and returns ``y_int * 2**-data_out.frac`` (float32 for
outputs up to 24 bits wide, float64 above, so the value is exact). Gradients pass through a
straight-through estimator: the float layer on the quantized input and quantized weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from golden.activation import MAX_TABLE_BITS, activation_table
from golden.components import linear_acc_frac
from golden.fixed import FixedType, accumulator_width
from quant import torch_fixed as tf
from quant.config import LayerFormats


def _quant_ste(x: torch.Tensor, t: FixedType) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw integers of ``x`` in ``t`` and their float value with identity gradient to ``x``."""
    q = tf.float_to_fixed(x, t)
    return q, tf.ste(tf.fixed_to_float(q, t), x)


def _check_weight_formats(formats: LayerFormats, has_bias: bool, what: str) -> tuple[FixedType, FixedType | None]:
    if formats.weight is None:
        raise ValueError(f"{what}: formats.weight is required")
    if not has_bias:
        return formats.weight, None
    if formats.bias is None:
        raise ValueError(f"{what}: the layer has a bias, so formats.bias is required")
    acc_frac = linear_acc_frac(formats.data_in, formats.weight)
    if formats.bias.frac > acc_frac:
        raise ValueError(
            f"{what}: bias frac {formats.bias.frac} exceeds accumulator frac {acc_frac} "
            f"(data_in frac + weight frac); choose a bias format with at most {acc_frac} fraction bits"
        )
    return formats.weight, formats.bias


def _check_accumulator(formats: LayerFormats, length: int, has_bias: bool, what: str) -> None:
    """Refuse formats whose exact accumulator would not fit the int64 arithmetic of these modules."""
    assert formats.weight is not None
    bias = formats.bias if has_bias else None
    bits = accumulator_width(formats.data_in, formats.weight, length, has_bias, bias)
    if bits > tf.INT64_BITS:
        raise ValueError(
            f"{what}: {length} products of {formats.data_in} by {formats.weight}"
            f"{' plus a ' + str(formats.bias) + ' bias' if has_bias else ''} need a {bits}-bit accumulator; "
            f"the quantized PyTorch modules compute in int64 and are exact up to {tf.INT64_BITS} bits: "
            "narrow data_in or weight (golden/ computes any width exactly)"
        )


def _accumulate_out(acc: torch.Tensor, int_bias: torch.Tensor | None, formats: LayerFormats) -> torch.Tensor:
    """Add the aligned bias to an exact accumulator and requantize to ``data_out`` (raw int64)."""
    assert formats.weight is not None
    acc_frac = linear_acc_frac(formats.data_in, formats.weight)
    if int_bias is not None:
        assert formats.bias is not None
        acc = acc + tf.shift_round(int_bias, formats.bias.frac - acc_frac)
    return tf.requantize(acc, acc_frac, formats.data_out)


class _WeightedLayer(nn.Module):
    """What QuantLinear and QuantConv2d share: float weight and bias parameters (trainable), their
    raw integers (round half up, saturate) and their straight-through quantized copies."""

    def _take_parameters(self, layer: nn.Linear | nn.Conv2d, formats: LayerFormats, kind: str) -> None:
        _check_weight_formats(formats, layer.bias is not None, kind)
        _check_accumulator(formats, layer.weight[0].numel(), layer.bias is not None, kind)
        self.formats = formats
        self.weight = nn.Parameter(layer.weight.detach().clone())
        self.bias = None if layer.bias is None else nn.Parameter(layer.bias.detach().clone())

    def int_weight(self) -> torch.Tensor:
        """Raw int64 weights in the layer's weight shape, format ``formats.weight``."""
        assert self.formats.weight is not None
        return tf.float_to_fixed(self.weight, self.formats.weight)

    def int_bias(self) -> torch.Tensor | None:
        """Raw int64 bias, shape (outputs,), format ``formats.bias``; None without bias."""
        if self.bias is None:
            return None
        assert self.formats.bias is not None
        return tf.float_to_fixed(self.bias, self.formats.bias)

    def _ste_parameters(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Weight and bias as their quantized values, gradients passed straight through."""
        f = self.formats
        assert f.weight is not None
        wq = _quant_ste(self.weight, f.weight)[1]
        if self.bias is None:
            return wq, None
        assert f.bias is not None
        return wq, _quant_ste(self.bias, f.bias)[1].to(wq.dtype)

    def _float_copy(self, layer: nn.Linear | nn.Conv2d) -> nn.Module:
        with torch.no_grad():
            layer.weight.copy_(self.weight)
            if self.bias is not None:
                layer.bias.copy_(self.bias)
        return layer


class QuantLinear(_WeightedLayer):
    """``golden.components.linear`` as a trainable module (float weights, quantized on use).

    Attributes:
        in_features, out_features: K and N of the weight matrix (N, K).
        formats: data_in / weight / bias / data_out fixed-point formats.
        weight, bias: float parameters (bias may be None), quantized with round half up.
    """

    def __init__(self, layer: nn.Linear, formats: LayerFormats) -> None:
        super().__init__()
        self.in_features = layer.in_features
        self.out_features = layer.out_features
        self._take_parameters(layer, formats, "QuantLinear")

    def int_forward(self, q: torch.Tensor) -> torch.Tensor:
        """Raw int64 inputs (..., K) in ``data_in`` to raw int64 outputs (..., N) in ``data_out``."""
        return _accumulate_out(q @ self.int_weight().T, self.int_bias(), self.formats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float in, float out; exact golden values, straight-through gradients."""
        q, xq = _quant_ste(x, self.formats.data_in)
        wq, bq = self._ste_parameters()
        shadow = F.linear(xq.to(wq.dtype), wq, bq)
        return tf.ste(tf.fixed_to_float(self.int_forward(q), self.formats.data_out), shadow)

    def to_float(self) -> nn.Module:
        """A float ``nn.Linear`` with the same float weights."""
        return self._float_copy(nn.Linear(self.in_features, self.out_features, bias=self.bias is not None))

    def extra_repr(self) -> str:
        f = self.formats
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"data_in={f.data_in}, weight={f.weight}, bias={f.bias if self.bias is not None else None}, "
            f"data_out={f.data_out}"
        )


class QuantConv2d(_WeightedLayer):
    """``golden.conv.conv2d`` as a trainable module (any groups, dilation 1, zero padding).

    Attributes:
        in_channels, out_channels, kernel_size, stride, padding, groups: as nn.Conv2d (2-tuples).
        formats: data_in / weight / bias / data_out fixed-point formats.
        weight (O, C, KH, KW), bias (O,) or None: float parameters.
    """

    def __init__(self, layer: nn.Conv2d, formats: LayerFormats) -> None:
        super().__init__()
        if tuple(layer.dilation) != (1, 1) or layer.padding_mode != "zeros":
            raise ValueError(
                "QuantConv2d supports dilation=1, padding_mode='zeros'; got "
                f"dilation={layer.dilation}, padding_mode={layer.padding_mode}"
            )
        if isinstance(layer.padding, str):
            raise ValueError(f"QuantConv2d needs numeric padding, got {layer.padding!r}")
        self.in_channels = layer.in_channels
        self.out_channels = layer.out_channels
        self.kernel_size: tuple[int, int] = (int(layer.kernel_size[0]), int(layer.kernel_size[1]))
        self.stride: tuple[int, int] = (int(layer.stride[0]), int(layer.stride[1]))
        self.padding: tuple[int, int] = (int(layer.padding[0]), int(layer.padding[1]))
        self.groups = int(layer.groups)
        self._take_parameters(layer, formats, "QuantConv2d")

    def int_forward(self, q: torch.Tensor) -> torch.Tensor:
        """Raw int64 inputs (N, C, H, W) in ``data_in`` to raw int64 (N, O, OH, OW) in ``data_out``."""
        (ph, pw), (sh, sw), (kh, kw) = self.padding, self.stride, self.kernel_size
        qp = F.pad(q, (pw, pw, ph, ph))
        patches = qp.unfold(2, kh, sh).unfold(3, kw, sw)  # N, C, OH, OW, KH, KW
        n, c, oh, ow = patches.shape[:4]
        g = self.groups
        flat = patches.permute(0, 2, 3, 1, 4, 5).reshape(n, oh, ow, g, (c // g) * kh * kw)
        weight = self.int_weight().reshape(g, self.out_channels // g, -1)
        acc = torch.einsum("nyxgk,gok->nyxgo", flat, weight).reshape(n, oh, ow, self.out_channels)
        return _accumulate_out(acc, self.int_bias(), self.formats).permute(0, 3, 1, 2).contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float in, float out; exact golden values, straight-through gradients."""
        q, xq = _quant_ste(x, self.formats.data_in)
        wq, bq = self._ste_parameters()
        shadow = F.conv2d(xq.to(wq.dtype), wq, bq, self.stride, self.padding, groups=self.groups)
        return tf.ste(tf.fixed_to_float(self.int_forward(q), self.formats.data_out), shadow)

    def to_float(self) -> nn.Module:
        """A float ``nn.Conv2d`` with the same float weights."""
        layer = nn.Conv2d(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            self.stride,
            self.padding,
            groups=self.groups,
            bias=self.bias is not None,
        )
        return self._float_copy(layer)

    def extra_repr(self) -> str:
        f = self.formats
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, groups={self.groups}, "
            f"data_in={f.data_in}, weight={f.weight}, "
            f"bias={f.bias if self.bias is not None else None}, data_out={f.data_out}"
        )


class QuantReLU(nn.Module):
    """``golden.components.relu``: quantize to ``data_in``, ``max(q, 0)``, requantize to ``data_out``.

    ``data_out`` may be unsigned. Gradient: that of a float ReLU (straight through the rounding).
    """

    def __init__(self, formats: LayerFormats) -> None:
        super().__init__()
        self.formats = formats

    def int_forward(self, q: torch.Tensor) -> torch.Tensor:
        """Raw int64 inputs in ``data_in`` to raw int64 outputs in ``data_out``."""
        return tf.requantize(torch.clamp(q, min=0), self.formats.data_in.frac, self.formats.data_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float in, float out; exact golden values, straight-through gradients."""
        q, xq = _quant_ste(x, self.formats.data_in)
        return tf.ste(tf.fixed_to_float(self.int_forward(q), self.formats.data_out), F.relu(xq))

    def to_float(self) -> nn.ReLU:
        """A float ``nn.ReLU``."""
        return nn.ReLU()

    def extra_repr(self) -> str:
        return f"data_in={self.formats.data_in}, data_out={self.formats.data_out}"


#: Activations :class:`QuantActivation` implements: name -> (float module factory, float function).
ACTIVATION_FUNCTIONS: dict[str, tuple[type[nn.Module], object]] = {
    "sigmoid": (nn.Sigmoid, torch.sigmoid),
    "tanh": (nn.Tanh, torch.tanh),
    "gelu": (nn.GELU, F.gelu),
    "silu": (nn.SiLU, F.silu),
}


class QuantActivation(nn.Module):
    """An element-wise activation as a table lookup: ``golden.activation.lookup`` with the table of
    ``golden.activation.activation_table(name, data_in, data_out)`` (what rtl/act/fixed_lut.sv does).

    The input is quantized to ``data_in`` (round half up, saturate); its raw two's-complement bit
    pattern indexes a table of ``2**data_in.width`` raw ``data_out`` integers (round half up,
    saturate of the float64 function value); the output is the entry times ``2**-data_out.frac``.
    ``data_in.width`` must be at most 12 bits (a 4,096-entry table), like fixed_lut's ``IN_WIDTH``.

    Gradient (straight-through estimator): the derivative of the float function at the quantized
    input, i.e. ``d f(x) / dx`` evaluated at ``x_q``; the table's rounding is passed straight through.

    Attributes:
        name: ``sigmoid``, ``tanh``, ``gelu`` (exact erf form) or ``silu``.
        formats: ``data_in`` and ``data_out`` (``weight`` and ``bias`` are None).
        table: int64 buffer (not saved in the state dict; rebuilt from name and formats) of
            ``2**data_in.width`` raw outputs, entry ``i`` for input bit pattern ``i``.
    """

    table: torch.Tensor

    def __init__(self, name: str, formats: LayerFormats) -> None:
        super().__init__()
        if name not in ACTIVATION_FUNCTIONS:
            raise ValueError(
                f"QuantActivation: unknown activation {name!r}; allowed: {', '.join(ACTIVATION_FUNCTIONS)}"
            )
        if formats.data_in.width > MAX_TABLE_BITS:
            raise ValueError(
                f"{name}: data_in {formats.data_in} is {formats.data_in.width} bits wide; an activation "
                f"table takes at most {MAX_TABLE_BITS} input bits (2**width entries): narrow data_in"
            )
        self.name = name
        self.formats = formats
        table = activation_table(name, formats.data_in, formats.data_out)
        self.register_buffer("table", torch.from_numpy(table.astype("int64")), persistent=False)

    def int_forward(self, q: torch.Tensor) -> torch.Tensor:
        """Raw int64 inputs in ``data_in`` to raw int64 outputs in ``data_out`` (the table entry at
        the input's bit pattern ``q & (2**width - 1)``)."""
        return self.table[q & ((1 << self.formats.data_in.width) - 1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float in, float out; exact golden values, straight-through gradients (see class doc)."""
        q, xq = _quant_ste(x, self.formats.data_in)
        func = ACTIVATION_FUNCTIONS[self.name][1]
        shadow = func(xq)  # type: ignore[operator]
        return tf.ste(tf.fixed_to_float(self.int_forward(q), self.formats.data_out), shadow)

    def to_float(self) -> nn.Module:
        """The float module (``nn.Sigmoid``, ``nn.Tanh``, ``nn.GELU()`` (erf), ``nn.SiLU``)."""
        return ACTIVATION_FUNCTIONS[self.name][0]()

    def extra_repr(self) -> str:
        return f"{self.name}, data_in={self.formats.data_in}, data_out={self.formats.data_out}"
