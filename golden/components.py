"""Integer reference functions, one per library component.

Every function takes and returns raw integers (NumPy int64) in the formats it is given; see
:mod:`golden.fixed` for the meaning of a :class:`~golden.fixed.FixedType`. These functions are the
single definition of what the RTL in ``rtl/`` and the quantized PyTorch modules compute.

Inputs must lie in their formats (a ValueError names the one that does not): the formats bound
every intermediate, and that bound decides whether it is computed in int64 or exactly with Python
integers (:mod:`golden.fixed`). Nothing wraps, whatever the formats.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from golden.fixed import (
    FixedType,
    IntArray,
    accumulator_width,
    as_int_array,
    in_range,
    requantize,
    shift_round,
    widen,
)


def passthrough(q: npt.ArrayLike) -> IntArray:
    """Stream plumbing (skid buffer, FIFO, fork, join): data leave exactly as they came."""
    return as_int_array(q).copy()


def cast(q: npt.ArrayLike, in_t: FixedType, out_t: FixedType) -> IntArray:
    """Convert between fixed-point types: round half up on dropped bits, then saturate."""
    return requantize(q, in_t.frac, out_t)


def relu(q: npt.ArrayLike, in_t: FixedType, out_t: FixedType) -> IntArray:
    """``max(x, 0)`` then cast from ``in_t`` to ``out_t`` (``out_t`` may be unsigned)."""
    return requantize(np.maximum(as_int_array(q), 0), in_t.frac, out_t)


def add_frac(a_t: FixedType, b_t: FixedType) -> int:
    """Fraction bits at which an element-wise add aligns its two operands (the finer one)."""
    return max(a_t.frac, b_t.frac)


def add(a: npt.ArrayLike, a_t: FixedType, b: npt.ArrayLike, b_t: FixedType, out_t: FixedType) -> IntArray:
    """Element-wise ``a + b``: both aligned exactly to the finer format, summed, then cast."""
    frac = add_frac(a_t, b_t)
    total = shift_round(a, a_t.frac - frac) + shift_round(b, b_t.frac - frac)
    return requantize(total, frac, out_t)


def linear_acc_frac(in_t: FixedType, w_t: FixedType) -> int:
    """Fraction bits of a linear layer's accumulator (product of input and weight formats)."""
    return in_t.frac + w_t.frac


def linear(
    x: npt.ArrayLike,
    w: npt.ArrayLike,
    b: npt.ArrayLike | None,
    in_t: FixedType,
    w_t: FixedType,
    b_t: FixedType | None,
    out_t: FixedType,
) -> IntArray:
    """Fully connected layer ``y = x @ w.T + b`` on raw integers.

    Args:
        x: inputs, shape ``(..., K)``, type ``in_t``.
        w: weights, shape ``(N, K)``, type ``w_t``.
        b: bias, shape ``(N,)`` and type ``b_t``, or None for no bias.
        out_t: output type; the exact accumulator (``in_t.frac + w_t.frac`` fraction bits) is
            rounded half up and saturated to it.

    The bias is aligned to the accumulator by a left shift, so ``b_t.frac`` may not exceed the
    accumulator's fraction bits. The accumulator (:func:`~golden.fixed.accumulator_width` bits) is
    computed in int64 when it fits, exactly with Python integers otherwise.

    Raises:
        ValueError: shapes disagree, a value lies outside its type, or the bias is finer than the
            accumulator.
    """
    xa, wa = as_int_array(x), as_int_array(w)
    if wa.ndim != 2 or xa.shape[-1] != wa.shape[1]:
        raise ValueError(f"linear: x {xa.shape} and w {wa.shape} do not agree (w is (N, K))")
    for name, arr, t in (("x", xa, in_t), ("w", wa, w_t)):
        if not in_range(arr, t):
            raise ValueError(f"linear: {name} has values outside its type {t}")
    acc_frac = linear_acc_frac(in_t, w_t)
    if b is not None:
        if b_t is None:
            raise ValueError("linear: a bias needs its type b_t")
        if b_t.frac > acc_frac:
            raise ValueError(
                f"linear: bias frac {b_t.frac} exceeds accumulator frac {acc_frac}; "
                "use a bias format with at most in_frac + weight_frac fraction bits"
            )
        if not in_range(b, b_t):
            raise ValueError(f"linear: b has values outside its type {b_t}")
    bits = accumulator_width(in_t, w_t, wa.shape[1], b is not None, b_t)
    acc = widen(xa, bits) @ widen(wa, bits).T
    if b is not None:
        acc = acc + widen(shift_round(b, b_t.frac - acc_frac), bits)
    return requantize(acc, acc_frac, out_t)


def add_format(a_t: FixedType, b_t: FixedType) -> FixedType:
    """The signed format that holds every ``a + b`` exactly: both aligned to the finer fraction,
    one more bit than the wider aligned operand (unsigned operands count one sign bit more).

    Raises ValueError when that needs more than the 32 bits a FixedType has.
    """
    frac = add_frac(a_t, b_t)
    widths = [t.width + (0 if t.signed else 1) + frac - t.frac for t in (a_t, b_t)]
    return FixedType(max(widths) + 1, frac)
