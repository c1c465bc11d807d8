"""Property tests pinning down golden/'s arithmetic: the single definition every other
implementation (RTL, quantized PyTorch) must reproduce bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from golden.components import add, cast, linear, relu
from golden.fixed import FixedType, accumulator_width, float_to_fixed, requantize, saturate, shift_round

types = st.builds(
    FixedType,
    width=st.integers(2, 24),
    frac=st.integers(-4, 20),
    signed=st.booleans(),
)


def reference_requantize(q: int, in_frac: int, out: FixedType) -> int:
    """Straight from docs/contracts.md with Python's unbounded integers: round half up, then clamp."""
    s = in_frac - out.frac
    value = (q + (1 << (s - 1))) >> s if s > 0 else q << -s
    return max(out.min_int, min(out.max_int, value))


@given(q=st.integers(-(1 << 40), 1 << 40), in_frac=st.integers(-8, 40), out=types)
def test_requantize_matches_the_written_rule(q: int, in_frac: int, out: FixedType) -> None:
    assert int(requantize(np.array([q]), in_frac, out)[0]) == reference_requantize(q, in_frac, out)


@pytest.mark.parametrize(
    ("q", "shift", "expected"),
    [
        (1, 1, 1),  # 0.5 -> 1: ties go up
        (-1, 1, 0),  # -0.5 -> 0: ties go up, not away from zero
        (3, 1, 2),  # 1.5 -> 2
        (-3, 1, -1),  # -1.5 -> -1
        (5, 2, 1),  # 1.25 -> 1
        (6, 2, 2),  # 1.5 -> 2
        (-6, 2, -1),  # -1.5 -> -1
        (-7, 2, -2),  # -1.75 -> -2
        (7, 0, 7),  # zero shift is exact
        (-3, -2, -12),  # negative shift appends zeros
    ],
)
def test_round_half_up_ties(q: int, shift: int, expected: int) -> None:
    assert int(shift_round(np.array([q]), shift)[0]) == expected


def test_saturation_at_both_ends_and_most_negative_value() -> None:
    s8 = FixedType(8, 0)
    assert saturate(np.array([-1000, -129, -128, 127, 128, 1000]), s8).tolist() == [-128, -128, -128, 127, 127, 127]
    u4 = FixedType(4, 0, signed=False)
    assert requantize(np.array([-5, 0, 15, 16]), 0, u4).tolist() == [0, 0, 15, 15]
    # the most negative value of a type survives a cast to a wider type and saturates on a narrower
    assert cast(np.array([-128]), s8, FixedType(16, 4)).tolist() == [-128 * 16]
    assert cast(np.array([-128]), s8, FixedType(4, 0)).tolist() == [-8]
    # a full shift (every fraction bit dropped): -0.5 rounds up to 0, +0.5 up to 1
    assert requantize(np.array([-128, -65, -64, 63, 64, 127]), 7, FixedType(8, 0)).tolist() == [-1, -1, 0, 0, 1, 1]
    assert requantize(np.array([-128, 127]), 8, FixedType(8, 0)).tolist() == [0, 0]


@given(x=st.floats(-1e6, 1e6, allow_nan=False), t=types)
def test_float_to_fixed_is_floor_plus_half_clamped(x: float, t: FixedType) -> None:
    expected = max(t.min_int, min(t.max_int, int(np.floor(x * 2.0**t.frac + 0.5))))
    assert int(float_to_fixed(np.array([x]), t)[0]) == expected


def test_float_to_fixed_rejects_nan_and_saturates_inf() -> None:
    t = FixedType(8, 4)
    with pytest.raises(ValueError, match="NaN"):
        float_to_fixed(np.array([np.nan]), t)
    assert float_to_fixed(np.array([np.inf, -np.inf]), t).tolist() == [127, -128]


def test_bad_types_are_rejected_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="width"):
        FixedType(0, 0)
    with pytest.raises(ValueError, match="signed FixedType needs width >= 2"):
        FixedType(1, 0)


@given(
    data=st.data(),
    a_t=st.builds(FixedType, width=st.integers(2, 16), frac=st.integers(0, 10)),
    b_t=st.builds(FixedType, width=st.integers(2, 16), frac=st.integers(0, 10)),
    out_t=st.builds(FixedType, width=st.integers(2, 16), frac=st.integers(0, 10)),
)
def test_add_aligns_exactly_then_rounds_once(
    data: st.DataObject, a_t: FixedType, b_t: FixedType, out_t: FixedType
) -> None:
    a = data.draw(st.integers(a_t.min_int, a_t.max_int))
    b = data.draw(st.integers(b_t.min_int, b_t.max_int))
    f = max(a_t.frac, b_t.frac)
    exact = (a << (f - a_t.frac)) + (b << (f - b_t.frac))
    assert int(add(np.array([a]), a_t, np.array([b]), b_t, out_t)[0]) == reference_requantize(exact, f, out_t)


def test_relu_clears_negatives_before_casting() -> None:
    in_t, out_t = FixedType(8, 4), FixedType(4, 2, signed=False)
    assert relu(np.array([-128, -1, 0, 1, 2, 127]), in_t, out_t).tolist() == [0, 0, 0, 0, 1, 15]


@given(data=st.data(), k=st.integers(1, 12), n=st.integers(1, 5), with_bias=st.booleans())
def test_linear_is_an_exact_dot_product_rounded_once(data: st.DataObject, k: int, n: int, with_bias: bool) -> None:
    in_t, w_t, b_t, out_t = FixedType(8, 4), FixedType(6, 5), FixedType(10, 3), FixedType(8, 2)
    x = data.draw(st.lists(st.integers(in_t.min_int, in_t.max_int), min_size=k, max_size=k))
    w = data.draw(
        st.lists(st.lists(st.integers(w_t.min_int, w_t.max_int), min_size=k, max_size=k), min_size=n, max_size=n)
    )
    b = data.draw(st.lists(st.integers(b_t.min_int, b_t.max_int), min_size=n, max_size=n)) if with_bias else None
    got = linear(
        np.array(x), np.array(w), None if b is None else np.array(b), in_t, w_t, b_t if with_bias else None, out_t
    )
    acc_frac = in_t.frac + w_t.frac
    for j in range(n):
        acc = sum(xi * wi for xi, wi in zip(x, w[j])) + ((b[j] << (acc_frac - b_t.frac)) if b else 0)
        assert int(got[j]) == reference_requantize(acc, acc_frac, out_t)
        assert abs(acc) < 1 << (accumulator_width(in_t, w_t, k, with_bias, b_t) - 1)


def test_accumulator_widens_for_a_coarse_wide_bias() -> None:
    in_t, w_t = FixedType(8, 4), FixedType(6, 5)
    assert accumulator_width(in_t, w_t, 1, False) == 14
    assert accumulator_width(in_t, w_t, 1, True) == 15
    # a 10-bit bias with 3 fraction bits shifts left by 6 to reach 9: 16 bits, then one for the sum
    assert accumulator_width(in_t, w_t, 1, True, FixedType(10, 3)) == 17
    assert accumulator_width(in_t, w_t, 8, True, FixedType(4, 9)) == 18


def test_linear_rejects_a_bias_finer_than_the_accumulator() -> None:
    with pytest.raises(ValueError, match="bias frac 12 exceeds accumulator frac 10"):
        linear(
            np.zeros(2, dtype=np.int64),
            np.zeros((1, 2), dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            FixedType(8, 4),
            FixedType(8, 6),
            FixedType(16, 12),
            FixedType(8, 4),
        )
