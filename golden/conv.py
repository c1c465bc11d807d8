"""Integer reference of a 2-D convolution (the front end's ``QuantConv2d``).

A convolution is a linear layer applied to every input patch: the patch of ``C * KH * KW`` raw
integers (channel-major, then kernel row, then kernel column, the order of
``weight.reshape(O, -1)``) is multiplied by the weights with :func:`golden.components.linear`, so
the accumulator, bias alignment, rounding (half up) and saturation rules are exactly those of a
linear layer. Padding inserts raw zeros (the value 0 in every format).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from golden.components import linear
from golden.fixed import FixedType, IntArray, as_int_array


def conv2d_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of one spatial dimension (no dilation)."""
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(f"conv2d: input size {size} with padding {padding} is smaller than kernel {kernel}")
    return out


def conv2d(
    x: npt.ArrayLike,
    w: npt.ArrayLike,
    b: npt.ArrayLike | None,
    in_t: FixedType,
    w_t: FixedType,
    b_t: FixedType | None,
    out_t: FixedType,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    groups: int = 1,
) -> IntArray:
    """2-D convolution (cross-correlation, as ``torch.nn.functional.conv2d``) on raw integers.

    Args:
        x: inputs, shape ``(N, C, H, W)``, type ``in_t``.
        w: weights, shape ``(O, C / groups, KH, KW)``, type ``w_t``.
        b: bias, shape ``(O,)`` and type ``b_t``, or None.
        out_t: output type (accumulator rounded half up and saturated, as :func:`linear`).
        stride: (row, column) step in input pixels, each >= 1.
        padding: zero pixels added on each side (rows, columns), each >= 0.
        groups: the channels split into ``groups`` groups, output group ``g`` reading input group
            ``g`` only (``groups = C = O``: a depthwise convolution).

    Returns:
        Raw integers of type ``out_t``, shape ``(N, O, OH, OW)``.
    """
    xa, wa = as_int_array(x), as_int_array(w)
    if xa.ndim != 4 or wa.ndim != 4 or groups < 1 or xa.shape[1] % groups or wa.shape[0] % groups:
        raise ValueError(f"conv2d: x {xa.shape}, w {wa.shape} and groups {groups} do not agree (x NCHW, w OCHW)")
    if xa.shape[1] // groups != wa.shape[1]:
        raise ValueError(f"conv2d: w {wa.shape} must have C / groups = {xa.shape[1] // groups} input channels")
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"conv2d: stride {stride} must be >= 1 and padding {padding} >= 0")
    n, c, h, wd = xa.shape
    o, cg, kh, kw = wa.shape
    oh = conv2d_output_size(h, kh, stride[0], padding[0])
    ow = conv2d_output_size(wd, kw, stride[1], padding[1])
    xp = np.pad(xa, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    patches = np.empty((n, oh, ow, c, kh, kw), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i, i + stride[0] * (oh - 1) + 1, stride[0])
            cols = slice(j, j + stride[1] * (ow - 1) + 1, stride[1])
            patches[:, :, :, :, i, j] = xp[:, :, rows, cols].transpose(0, 2, 3, 1)
    og = o // groups
    parts = []
    for g in range(groups):
        cols = patches[:, :, :, g * cg : (g + 1) * cg].reshape(n, oh, ow, cg * kh * kw)
        bias = None if b is None else as_int_array(b)[g * og : (g + 1) * og]
        parts.append(linear(cols, wa[g * og : (g + 1) * og].reshape(og, -1), bias, in_t, w_t, b_t, out_t))
    y = np.concatenate(parts, axis=-1)
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2))
