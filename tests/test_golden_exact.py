"""golden/ never wraps: every function equals an independent reference written with Python's
unbounded integers, for formats up to 32 bits wide with any fraction bits, including accumulators,
products and shifts far past int64 (where golden switches to exact Python integers).

The cases of issue 9 are pinned first: a 32-bit linear layer whose int64 accumulator wrapped to
-2**31 instead of saturating to 2**31 - 1, and a requantize shifting left by 60 bits, which raised
OverflowError from deep inside.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from golden.components import add, cast, linear, relu
from golden.conv import conv2d
from golden.elementwise import mul
from golden.fixed import INT64_BITS, FixedType, accumulator_width, as_int_array, requantize, shift_round
from golden.norm import affine
from golden.pool import avg_recip, avg_reduce
from golden.window import sliding_windows, window_beats

S32 = FixedType(32, 0)

# ---- the reference: DESIGN.md's rules on Python ints, nothing shared with golden/ --------------


def ref_shift_round(q: int, s: int) -> int:
    return (q + (1 << (s - 1))) >> s if s > 0 else q << -s


def ref_requantize(q: int, in_frac: int, out: FixedType) -> int:
    lo = -(1 << (out.width - 1)) if out.signed else 0
    hi = (1 << (out.width - 1)) - 1 if out.signed else (1 << out.width) - 1
    return max(lo, min(hi, ref_shift_round(q, in_frac - out.frac)))


def ref_linear(x, w, b, in_t, w_t, b_t, out_t) -> list[int]:
    acc_frac = in_t.frac + w_t.frac
    out = []
    for j, row in enumerate(w):
        acc = sum(int(a) * int(c) for a, c in zip(x, row))
        if b is not None:
            acc += int(b[j]) << (acc_frac - b_t.frac)
        out.append(ref_requantize(acc, acc_frac, out_t))
    return out


# ---- strategies ----------------------------------------------------------------------------------

wide_types = st.builds(FixedType, width=st.integers(2, 32), frac=st.integers(-16, 48), signed=st.booleans())
signed_wide = st.builds(FixedType, width=st.integers(2, 32), frac=st.integers(-16, 48))


def values(t: FixedType, n: int) -> st.SearchStrategy[list[int]]:
    """``n`` raw values of ``t``, the range ends drawn often."""
    one = st.one_of(st.sampled_from([t.min_int, t.max_int, 0, min(1, t.max_int)]), st.integers(t.min_int, t.max_int))
    return st.lists(one, min_size=n, max_size=n)


# ---- the cases ---------------------------------------------------------------------------


def test_linear_32_bit_k2_saturates_instead_of_wrapping() -> None:
    x = np.array([-(2**31), -(2**31)])
    w = np.array([[-(2**31), -(2**31)]])
    assert accumulator_width(S32, S32, 2, False) == 65 > INT64_BITS
    assert linear(x, w, None, S32, S32, None, S32).tolist() == [2**31 - 1]
    assert linear(x, -w - 1, None, S32, S32, None, S32).tolist() == [-(2**31)]


def test_requantize_shifting_left_by_60_bits_is_exact() -> None:
    assert requantize(np.array([3, -3, 0, 1]), 0, FixedType(8, 60)).tolist() == [127, -128, 0, 127]
    assert requantize(np.array([2**31 - 1]), 0, FixedType(32, 60)).tolist() == [2**31 - 1]
    assert requantize(np.array([0, 1]), 60, FixedType(8, 0)).tolist() == [0, 0]
    assert shift_round(np.array([3]), -60).tolist() == [3 << 60]
    assert shift_round(np.array([1 << 40]), -60).tolist() == [1 << 100]  # exact, no OverflowError
    assert shift_round(np.array([(1 << 62) + (1 << 61)]), 62).tolist() == [2]  # rounding constant past int64


def test_wide_python_integers_are_accepted_and_narrowed_back() -> None:
    huge = np.array([1 << 80, -(1 << 80), 5], dtype=object)
    assert as_int_array(huge).dtype == object
    assert as_int_array(np.array([1, -2], dtype=object)).dtype == np.int64
    assert requantize(huge, 0, FixedType(16, 0)).tolist() == [32767, -32768, 5]
    assert requantize(huge, 0, FixedType(16, 0)).dtype == np.int64
    with pytest.raises(TypeError, match="integer"):
        as_int_array(np.array([1.5], dtype=object))


def test_values_outside_their_format_are_refused() -> None:
    with pytest.raises(ValueError, match="linear: x has values outside its type s8.0"):
        linear(np.array([200]), np.array([[1]]), None, FixedType(8, 0), FixedType(8, 0), None, FixedType(8, 0))


# ---- properties against the reference ---------------------------------------------------------------


@given(q=st.integers(-(1 << 200), 1 << 200), in_frac=st.integers(-64, 128), out=wide_types)
def test_requantize_any_width_any_shift(q: int, in_frac: int, out: FixedType) -> None:
    assert requantize(np.array([q], dtype=object), in_frac, out).tolist() == [ref_requantize(q, in_frac, out)]


@given(q=st.integers(-(1 << 70), 1 << 70), shift=st.integers(-80, 80))
def test_shift_round_any_width(q: int, shift: int) -> None:
    assert [int(v) for v in shift_round(np.array([q], dtype=object), shift).tolist()] == [ref_shift_round(q, shift)]


@st.composite
def linear_cases(draw: st.DrawFn) -> tuple:
    in_t, w_t, out_t = draw(wide_types), draw(signed_wide), draw(wide_types)
    k, n = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    acc_frac = in_t.frac + w_t.frac
    b_frac = st.integers(max(-32, acc_frac - 40), min(64, acc_frac))
    b_t = draw(st.one_of(st.none(), st.builds(FixedType, width=st.integers(2, 32), frac=b_frac)))
    x = draw(st.lists(values(in_t, k), min_size=2, max_size=2))
    w = [draw(values(w_t, k)) for _ in range(n)]
    b = None if b_t is None else draw(values(b_t, n))
    return in_t, w_t, b_t, out_t, x, w, b


@given(linear_cases())
def test_linear_equals_exact_reference(case: tuple) -> None:
    in_t, w_t, b_t, out_t, x, w, b = case
    got = linear(np.array(x), np.array(w), None if b is None else np.array(b), in_t, w_t, b_t, out_t)
    assert got.dtype == np.int64
    assert got.tolist() == [ref_linear(row, w, b, in_t, w_t, b_t, out_t) for row in x]


@given(st.data(), signed_wide, signed_wide, wide_types)
def test_mul_equals_exact_reference(data: st.DataObject, a_t: FixedType, b_t: FixedType, out_t: FixedType) -> None:
    a, b = data.draw(values(a_t, 6)), data.draw(values(b_t, 6))
    want = [ref_requantize(x * y, a_t.frac + b_t.frac, out_t) for x, y in zip(a, b)]
    assert mul(a, a_t, b, b_t, out_t).tolist() == want


@given(st.data(), wide_types, signed_wide, wide_types)
def test_affine_equals_exact_reference(data: st.DataObject, in_t: FixedType, s_t: FixedType, out_t: FixedType) -> None:
    acc_frac = in_t.frac + s_t.frac
    b_frac = st.integers(max(-32, acc_frac - 40), min(64, acc_frac))
    b_t = data.draw(st.builds(FixedType, width=st.integers(2, 32), frac=b_frac))
    x, s, b = data.draw(values(in_t, 3)), data.draw(values(s_t, 3)), data.draw(values(b_t, 3))
    want = [ref_requantize(xi * si + (bi << (acc_frac - b_t.frac)), acc_frac, out_t) for xi, si, bi in zip(x, s, b)]
    assert affine(x, s, b, in_t, s_t, b_t, out_t).tolist() == want


@given(st.data(), wide_types, wide_types, st.integers(1, 9), st.integers(0, 12))
def test_avg_reduce_equals_exact_reference(
    data: st.DataObject, in_t: FixedType, out_t: FixedType, window: int, extra: int
) -> None:
    recip_frac = min(32, (window - 1).bit_length() + extra + 16)
    beats = [data.draw(values(in_t, 2)) for _ in range(window)]
    recip = avg_recip(window, recip_frac)
    want = [[ref_requantize(sum(b[c] for b in beats) * recip, in_t.frac + recip_frac, out_t) for c in range(2)]]
    assert avg_reduce(np.array(beats), window, in_t, out_t, recip_frac).tolist() == want


@given(st.data(), wide_types, wide_types, wide_types)
def test_add_cast_relu_equal_exact_reference(
    data: st.DataObject, a_t: FixedType, b_t: FixedType, out_t: FixedType
) -> None:
    a, b = data.draw(values(a_t, 4)), data.draw(values(b_t, 4))
    f = max(a_t.frac, b_t.frac)
    want = [ref_requantize((x << (f - a_t.frac)) + (y << (f - b_t.frac)), f, out_t) for x, y in zip(a, b)]
    assert add(a, a_t, b, b_t, out_t).tolist() == want
    assert cast(a, a_t, out_t).tolist() == [ref_requantize(x, a_t.frac, out_t) for x in a]
    assert relu(a, a_t, out_t).tolist() == [ref_requantize(max(x, 0), a_t.frac, out_t) for x in a]


def test_conv2d_with_32_bit_formats_is_exact() -> None:
    x = np.full((1, 2, 3, 3), -(2**31))
    w = np.full((1, 2, 2, 2), -(2**31))
    y = conv2d(x, w, None, S32, S32, None, S32)  # 8 products of 2**62: a 66-bit accumulator
    assert y.tolist() == [[[[2**31 - 1] * 2] * 2]]
    # the same 2**65 accumulator with 40 fraction bits (2**25), into formats it saturates and fits
    w_t = FixedType(32, 40)
    for out_t in (FixedType(32, 8), FixedType(32, -2), FixedType(32, 30, signed=False)):
        got = conv2d(x, w, None, S32, w_t, None, out_t)
        assert got.tolist() == [[[[ref_requantize(2**65, 40, out_t)] * 2] * 2]]


def test_window_beats_are_the_windows_in_beats_of_window_par_pixels_zero_padded() -> None:
    img = np.arange(1, 5 * 6 * 2 + 1).reshape(5, 6, 2)
    windows = sliding_windows(img, (3, 3), 1, 1)  # (5, 6, 3, 3, 2)
    assert np.array_equal(window_beats(img, (3, 3), 1, 1, 1), windows.reshape(-1, 2))
    beats = window_beats(img, (3, 3), 1, 1, 4)  # 3 beats per window, the last one 1 pixel + 3 zero ones
    assert beats.shape == (30 * 3, 8)
    per_window = beats.reshape(30, 12, 2)
    assert np.array_equal(per_window[:, :9], windows.reshape(30, 9, 2))
    assert not per_window[:, 9:].any() and per_window[:, :9].any()
    with pytest.raises(ValueError, match="window_par 10 must be in 1 .. 9"):
        window_beats(img, (3, 3), 1, 1, 10)
