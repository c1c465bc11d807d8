"""golden.norm.affine: hand-checked cases, and every result against exact rational arithmetic."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from golden.fixed import FixedType
from golden.norm import affine


def exact_requant(value: Fraction, out_t: FixedType) -> int:
    """``clamp(floor(value * 2**frac + 1/2))``: the contracts' rounding (docs/contracts.md) on an exact rational."""
    q = math.floor(value * Fraction(2) ** out_t.frac + Fraction(1, 2))
    return min(max(q, out_t.min_int), out_t.max_int)


def test_hand_checked_channels_ties_and_saturation() -> None:
    in_t, s_t, b_t, out_t = FixedType(8, 2), FixedType(8, 1), FixedType(8, 0), FixedType(8, 1)
    x = np.array([[3, -3, 100, 5]])  # 0.75, -0.75, 25.0, 1.25
    scale = np.array([1, 1, 8, -2])  # 0.5, 0.5, 4.0, -1.0
    shift = np.array([0, 0, 1, 1])  # 0, 0, 1, 1
    # 0.375 -> 0.75 lsb of 0.5: rounds half up to 1 (0.5); -0.375 -> -0.75 lsb rounds to -1 (-0.5);
    # 25*4+1 = 101 -> 202 lsb saturates to 127; -1.25+1 = -0.25 -> -0.5 lsb is a tie, rounds up to 0
    assert affine(x, scale, shift, in_t, s_t, b_t, out_t).tolist() == [[1, -1, 127, 0]]


def test_channel_is_the_last_axis() -> None:
    t = FixedType(8, 0)
    x = np.arange(6).reshape(3, 2)
    y = affine(x, np.array([1, 2]), np.array([10, -10]), t, t, t, t)
    assert y.tolist() == [[10, -8], [12, -4], [14, 0]]


def test_refusals_name_the_problem() -> None:
    t = FixedType(8, 4)
    with pytest.raises(ValueError, match="shift frac 9 exceeds in_frac \\+ scale_frac = 8"):
        affine([1], [1], [1], t, t, FixedType(8, 9), t)
    with pytest.raises(ValueError, match="scale and shift of shape \\(C,\\)"):
        affine([1, 2], [1], [1], t, t, t, t)
    with pytest.raises(ValueError, match="scale has values outside its type s8.4"):
        affine([1], [200], [1], t, t, t, t)
    # a 69-bit accumulator is computed exactly (it used to be refused): (-2**31)**2 + 127 saturates
    s32 = FixedType(32, 0)
    assert affine([-(2**31)], [-(2**31)], [127], s32, s32, FixedType(8, 0), s32).tolist() == [2**31 - 1]


formats = st.builds(FixedType, width=st.integers(2, 16), frac=st.integers(-4, 12), signed=st.booleans())
signed_formats = st.builds(FixedType, width=st.integers(2, 16), frac=st.integers(-4, 12))


@st.composite
def affine_cases(draw: st.DrawFn) -> tuple:
    in_t, s_t, out_t = draw(formats), draw(signed_formats), draw(formats)
    b_t = FixedType(draw(st.integers(2, 16)), draw(st.integers(-8, in_t.frac + s_t.frac)))
    c = draw(st.integers(1, 5))

    def values(t: FixedType, n: int) -> list[int]:
        return draw(st.lists(st.integers(t.min_int, t.max_int), min_size=n, max_size=n))

    return in_t, s_t, b_t, out_t, values(in_t, 2 * c), values(s_t, c), values(b_t, c)


@given(affine_cases())
def test_affine_equals_exact_rounding_of_the_real_value(case: tuple) -> None:
    in_t, s_t, b_t, out_t, x, scale, shift = case
    c = len(scale)
    got = affine(np.array(x).reshape(2, c), scale, shift, in_t, s_t, b_t, out_t).reshape(-1).tolist()
    want = [
        exact_requant(
            Fraction(xv * scale[i % c]) / Fraction(2) ** (in_t.frac + s_t.frac)
            + Fraction(shift[i % c]) / Fraction(2) ** b_t.frac,
            out_t,
        )
        for i, xv in enumerate(x)
    ]
    assert got == want
