"""Integer reference of normalization layers at inference: a per-channel affine map.

``y[c] = requant(x[c] * scale[c] + shift[c])`` is inference batch-norm (folded into one scale and
one shift per channel) and layer scale. It is the single definition of what
``rtl/norm/fixed_affine.sv`` computes.
"""

from __future__ import annotations

import numpy.typing as npt

from golden.fixed import FixedType, IntArray, as_int_array, in_range, requantize, shift_round, widen


def affine_acc_frac(in_t: FixedType, s_t: FixedType) -> int:
    """Fraction bits of the exact ``x * scale + shift`` (those of the product)."""
    return in_t.frac + s_t.frac


def affine_acc_width(in_t: FixedType, s_t: FixedType, b_t: FixedType) -> int:
    """Bits of a signed accumulator that holds ``x * scale + shift`` exactly.

    The product of an ``in_t`` value (one more bit when unsigned, to be read as signed) and a
    signed scale, or the shift aligned by a left shift, whichever is wider, plus one for the sum.
    """
    product = in_t.width + (0 if in_t.signed else 1) + s_t.width
    aligned = b_t.width + max(0, affine_acc_frac(in_t, s_t) - b_t.frac)
    return max(product, aligned) + 1


def affine(
    x: npt.ArrayLike,
    scale: npt.ArrayLike,
    shift: npt.ArrayLike,
    in_t: FixedType,
    s_t: FixedType,
    b_t: FixedType,
    out_t: FixedType,
) -> IntArray:
    """Per-channel ``y = x * scale + shift`` on raw integers, one requantization at the end.

    Args:
        x: inputs, shape ``(..., C)``, type ``in_t``; the last axis is the channel.
        scale: one scale per channel, shape ``(C,)``, signed type ``s_t``.
        shift: one shift per channel, shape ``(C,)``, signed type ``b_t``; ``b_t.frac`` may not
            exceed ``in_t.frac + s_t.frac``.
        out_t: output type. The product is exact (``in_t.frac + s_t.frac`` fraction bits), the
            shift is aligned to it by a left shift, and the sum is rounded half up and saturated
            to ``out_t``.

    Raises:
        ValueError: shapes disagree, a value lies outside its type, or the shift is finer than the
            product. The accumulator (:func:`affine_acc_width` bits) is computed in int64 when it
            fits, exactly otherwise.
    """
    xa, sa, ba = as_int_array(x), as_int_array(scale), as_int_array(shift)
    if xa.ndim < 1 or sa.shape != (xa.shape[-1],) or ba.shape != (xa.shape[-1],):
        raise ValueError(
            f"affine: x {xa.shape} needs scale and shift of shape (C,) with C its last axis, "
            f"got scale {sa.shape} and shift {ba.shape}"
        )
    for name, arr, t in (("x", xa, in_t), ("scale", sa, s_t), ("shift", ba, b_t)):
        if not in_range(arr, t):
            raise ValueError(f"affine: {name} has values outside its type {t}")
    acc_frac = affine_acc_frac(in_t, s_t)
    if b_t.frac > acc_frac:
        raise ValueError(
            f"affine: shift frac {b_t.frac} exceeds in_frac + scale_frac = {acc_frac}; "
            "use a shift format with at most that many fraction bits"
        )
    bits = affine_acc_width(in_t, s_t, b_t)
    acc = widen(xa, bits) * widen(sa, bits) + widen(shift_round(ba, b_t.frac - acc_frac), bits)
    return requantize(acc, acc_frac, out_t)
