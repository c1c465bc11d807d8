"""golden.pool.avg_reduce and golden.elementwise.mul: hand-checked cases and exact references."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from golden.elementwise import mul
from golden.fixed import FixedType
from golden.pool import avg_recip, avg_reduce


def exact_requant(value: Fraction, out_t: FixedType) -> int:
    """``clamp(floor(value * 2**frac + 1/2))``: the contracts' rounding (docs/contracts.md) on an exact rational."""
    q = math.floor(value * Fraction(2) ** out_t.frac + Fraction(1, 2))
    return min(max(q, out_t.min_int), out_t.max_int)


def test_reciprocal_constant_rounds_half_up() -> None:
    assert avg_recip(1, 0) == 1
    assert avg_recip(4, 16) == 16384
    assert avg_recip(9, 16) == 7282  # 7281.78 rounds up
    assert avg_recip(3, 2) == 1  # 1.33 rounds down
    assert avg_recip(6, 3) == 1  # 8/6 = 1.33
    assert avg_recip(3, 3) == 3  # 8/3 = 2.67
    assert avg_recip(5, 4) == 3  # 16/5 = 3.2
    assert avg_recip(6, 4) == 3  # 16/6 = 2.67
    with pytest.raises(ValueError, match="recip_frac must be in 4..32"):
        avg_recip(9, 3)


def test_avg_hand_checked() -> None:
    t = FixedType(8, 0)
    beats = np.array([[1, -1], [2, -2], [1, -1], [2, -2]])  # window 2: sums 3 and -3 twice
    # 3/2 = 1.5 rounds half up to 2, -1.5 to -1
    assert avg_reduce(beats, 2, t, t, 16).tolist() == [[2, -1], [2, -1]]
    # 1/3 with 8 fraction bits is 85/256: 9 * 85 / 256 = 2.99 -> 3; saturates to a 2-bit output
    assert avg_reduce(np.array([[9], [0], [0]]), 3, t, FixedType(8, 0), 8).tolist() == [[3]]
    assert avg_reduce(np.array([[127], [127], [127]]), 3, t, FixedType(2, 0), 8).tolist() == [[1]]


@given(
    st.integers(0, 5).map(lambda k: 1 << k),
    st.integers(0, 6),
    st.builds(FixedType, width=st.integers(2, 16), frac=st.integers(-4, 12), signed=st.booleans()),
    st.builds(FixedType, width=st.integers(2, 16), frac=st.integers(-4, 12), signed=st.booleans()),
    st.randoms(use_true_random=False),
)
def test_avg_is_the_exactly_rounded_mean_for_power_of_two_windows(
    window: int, extra: int, in_t: FixedType, out_t: FixedType, rnd
) -> None:
    recip_frac = (window - 1).bit_length() + extra
    beats = np.array([[rnd.randint(in_t.min_int, in_t.max_int) for _ in range(3)] for _ in range(2 * window)])
    got = avg_reduce(beats, window, in_t, out_t, recip_frac)
    sums = beats.reshape(2, window, 3).sum(axis=1)
    want = [[exact_requant(Fraction(int(s), window) / Fraction(2) ** in_t.frac, out_t) for s in row] for row in sums]
    assert got.tolist() == want


@given(
    st.builds(FixedType, width=st.integers(2, 24), frac=st.integers(-4, 12)),
    st.builds(FixedType, width=st.integers(2, 24), frac=st.integers(-4, 12)),
    st.builds(FixedType, width=st.integers(2, 24), frac=st.integers(-4, 20), signed=st.booleans()),
    st.randoms(use_true_random=False),
)
def test_mul_equals_exact_rounding_of_the_product(a_t: FixedType, b_t: FixedType, out_t: FixedType, rnd) -> None:
    a = [rnd.choice([a_t.min_int, a_t.max_int, rnd.randint(a_t.min_int, a_t.max_int)]) for _ in range(8)]
    b = [rnd.choice([b_t.min_int, 1, -1, rnd.randint(b_t.min_int, b_t.max_int)]) for _ in range(8)]
    got = mul(a, a_t, b, b_t, out_t).tolist()
    want = [exact_requant(Fraction(x * y) / Fraction(2) ** (a_t.frac + b_t.frac), out_t) for x, y in zip(a, b)]
    assert got == want


def test_mul_hand_checked_and_refusals() -> None:
    a_t, b_t, out_t = FixedType(8, 2), FixedType(8, 2), FixedType(8, 2)
    # 0.75 * 0.5 = 0.375 -> 1.5 lsb ties up to 2; -0.375 -> -1.5 ties up to -1; 31.75^2 saturates
    assert mul([3, -3, 127], a_t, [2, 2, 127], b_t, out_t).tolist() == [2, -1, 127]
    assert mul([-5], a_t, [3], b_t, FixedType(4, 2, signed=False)).tolist() == [0]
    with pytest.raises(ValueError, match="operand shapes differ"):
        mul([1, 2], a_t, [1], b_t, out_t)
    # products wider than int64 are exact (they used to be refused): (-2**31)**2 saturates
    s32 = FixedType(32, 0)
    assert mul([-(2**31), 3], s32, [-(2**31), -1], s32, s32).tolist() == [2**31 - 1, -3]
    # a 24 x 24-bit product shifted left by 18 bits into a narrow type saturates exactly
    assert mul([1, -1, 0], FixedType(24, 0), [1, 1, 5], FixedType(24, 0), FixedType(8, 18)).tolist() == [127, -128, 0]
