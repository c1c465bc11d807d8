"""Integer references of element-wise operations on two streams (beyond ``add`` in components).

``mul`` is the definition of what ``rtl/arith/fixed_mul.sv`` computes: gating and attention
parts multiply two activations element by element.
"""

from __future__ import annotations

import numpy.typing as npt

from golden.fixed import FixedType, IntArray, as_int_array, in_range, requantize, widen


def mul_frac(a_t: FixedType, b_t: FixedType) -> int:
    """Fraction bits of the exact product of an ``a_t`` and a ``b_t`` value."""
    return a_t.frac + b_t.frac


def mul(a: npt.ArrayLike, a_t: FixedType, b: npt.ArrayLike, b_t: FixedType, out_t: FixedType) -> IntArray:
    """Element-wise ``a * b``: the exact product (``a_t.frac + b_t.frac`` fraction bits), rounded
    half up and saturated to ``out_t`` once.

    Raises:
        ValueError: shapes differ or a value lies outside its type. The product (``a_t.bits +
            b_t.bits`` bits) is computed in int64 when it fits, exactly otherwise.
    """
    aa, ba = as_int_array(a), as_int_array(b)
    if aa.shape != ba.shape:
        raise ValueError(f"mul: operand shapes differ, a {aa.shape} and b {ba.shape}")
    for name, arr, t in (("a", aa, a_t), ("b", ba, b_t)):
        if not in_range(arr, t):
            raise ValueError(f"mul: {name} has values outside its type {t}")
    bits = a_t.bits + b_t.bits
    return requantize(widen(aa, bits) * widen(ba, bits), mul_frac(a_t, b_t), out_t)
