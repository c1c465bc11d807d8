"""Property tests of golden/attention.py against high-precision references (docs/contracts.md,
"Transformer arithmetic"): every function within its stated error bound, exact where it says so."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golden.attention import (
    SCALE_BITS,
    exp_table,
    layernorm,
    layernorm_eps,
    layernorm_error_bound,
    layernorm_fracs,
    layernorm_stats,
    matmul,
    matmul_error_bound,
    score_scale,
    softmax,
    softmax_error_bound,
    softmax_fracs,
)
from golden.fixed import FixedType

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def formats(draw: st.DrawFn, lo: int = 3, hi: int = 12, signed: bool | None = True) -> FixedType:
    width = draw(st.integers(lo, hi))
    sgn = draw(st.booleans()) if signed is None else signed
    return FixedType(width, draw(st.integers(-2, width + 2)), sgn)


def raw(draw: st.DrawFn, t: FixedType, shape: tuple[int, ...]) -> np.ndarray:
    """Raw integers of ``t``, a quarter of them at the range ends."""
    n = int(np.prod(shape))
    ends = st.sampled_from([t.min_int, t.max_int, 0])
    values = draw(st.lists(st.one_of(st.integers(t.min_int, t.max_int), ends), min_size=n, max_size=n))
    return np.asarray(values, dtype=np.int64).reshape(shape)


def round_half_up(v: Fraction) -> int:
    return math.floor(v + Fraction(1, 2))


# ---- score scale and matmul ----------------------------------------------------------------------


@given(st.integers(1, 4096), st.integers(2, 16))
@SETTINGS
def test_score_scale_is_the_nearest_bits_wide_value(head_dim: int, bits: int) -> None:
    scale, frac = score_scale(head_dim, bits)
    assert 1 << (bits - 1) <= scale < 1 << bits
    exact_value = 2.0**frac / math.sqrt(head_dim)
    assert abs(scale - exact_value) <= 0.5 + 1e-9
    assert abs(scale * 2.0**-frac * math.sqrt(head_dim) - 1) <= 2.0**-bits


@given(st.data())
@SETTINGS
def test_matmul_is_the_rounded_exact_scaled_product(data: st.DataObject) -> None:
    a_t = data.draw(formats(2, 12, signed=None))
    b_t = data.draw(formats(2, 12))
    out_t = data.draw(formats(2, 16, signed=None))
    m, k, n = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 40)), data.draw(st.integers(1, 4))
    head_dim = data.draw(st.integers(1, 128))
    scale, scale_frac = data.draw(st.sampled_from([(1, 0), score_scale(head_dim)]))
    a, b = raw(data.draw, a_t, (2, m, k)), raw(data.draw, b_t, (2, k, n))
    y = matmul(a, a_t, b, b_t, out_t, scale, scale_frac)
    step = Fraction(2) ** -out_t.frac
    for idx in np.ndindex(y.shape):
        bi, i, j = idx
        dot = sum(Fraction(int(a[bi, i, q])) * int(b[bi, q, j]) for q in range(k)) * Fraction(2) ** -(
            a_t.frac + b_t.frac
        )
        want = min(out_t.max_int, max(out_t.min_int, round_half_up(dot * scale * Fraction(2) ** -scale_frac / step)))
        assert y[idx] == want
        if scale != 1 and out_t.min_int < y[idx] < out_t.max_int:
            err = abs(float(y[idx] * step) - float(dot) / math.sqrt(head_dim))
            assert err <= matmul_error_bound(out_t, float(dot), scale, scale_frac, head_dim) + 1e-12


def test_matmul_is_exact_past_int64() -> None:
    t = FixedType(32, 0)
    a = np.full((1, 64), t.max_int)
    b = np.full((64, 1), t.min_int)
    y = matmul(a, t, b, t, FixedType(32, -32), scale=4095, scale_frac=20)
    want = round_half_up(Fraction(64 * t.max_int * t.min_int * 4095, 2**52))
    assert int(y[0, 0]) == max(FixedType(32, -32).min_int, want) == want


# ---- softmax -------------------------------------------------------------------------------------


@given(st.data())
@SETTINGS
def test_exp_table_entries_are_rounded_exponents(data: st.DataObject) -> None:
    in_t = data.draw(formats(3, 10))
    e_frac = data.draw(st.integers(0, 20))
    table = exp_table(in_t, e_frac)
    assert table[0] == 1 << e_frac
    d = np.arange(len(table))
    exact_values = np.exp(-d * 2.0**-in_t.frac) * 2.0**e_frac
    assert np.all(np.abs(table - exact_values) <= 0.5 + 1e-9 * exact_values)
    assert np.all(np.diff(table) <= 0)
    if len(table) < 1 << in_t.width:  # the table stops where the exponent rounds to 0
        assert math.exp(-len(table) * 2.0**-in_t.frac) * 2.0**e_frac < 0.5 + 1e-9


def reference_softmax(x: np.ndarray, in_t: FixedType, keep: np.ndarray | None = None) -> np.ndarray:
    """Softmax of the real values in float64 (errors ~1e-16, far below every bound here)."""
    v = x.astype(np.float64) * 2.0**-in_t.frac
    if keep is not None:
        v = np.where(keep, v, -np.inf)
    v = v - v.max(axis=-1, keepdims=True)
    e = np.exp(v)
    return e / e.sum(axis=-1, keepdims=True)


@given(st.data())
@SETTINGS
def test_softmax_within_its_error_bound(data: st.DataObject) -> None:
    in_t = data.draw(formats(3, 10))
    out_t = data.draw(formats(4, 12, signed=None))
    n = data.draw(st.integers(1, 64))
    precise = data.draw(st.booleans())
    e_frac, r_frac = (
        softmax_fracs(n, out_t) if precise else (data.draw(st.integers(4, 18)), data.draw(st.integers(2, 16)))
    )
    x = raw(data.draw, in_t, (3, n))
    p = softmax(x, in_t, out_t, e_frac, r_frac)
    ref = np.clip(reference_softmax(x, in_t), out_t.min_int * 2.0**-out_t.frac, out_t.max_int * 2.0**-out_t.frac)
    err = np.abs(p * 2.0**-out_t.frac - ref)
    bound = softmax_error_bound(n, out_t, e_frac, r_frac)
    assert err.max() <= bound + 1e-12
    if precise:
        assert bound <= 0.5625 * 2.0**-out_t.frac + 1e-15


@given(st.data())
@SETTINGS
def test_softmax_mask_leaves_positions_out(data: st.DataObject) -> None:
    in_t, out_t = FixedType(8, 4), FixedType(9, 8, False)
    n = data.draw(st.integers(2, 16))
    x = raw(data.draw, in_t, (2, n))
    keep = np.asarray(data.draw(st.lists(st.booleans(), min_size=2 * n, max_size=2 * n))).reshape(2, n)
    keep[:, 0] = True
    e_frac, r_frac = softmax_fracs(n, out_t)
    p = softmax(x, in_t, out_t, e_frac, r_frac, mask=keep)
    assert np.all(p[~keep] == 0)
    for row in range(2):
        sub = softmax(x[row][keep[row]][None], in_t, out_t, e_frac, r_frac)
        assert np.array_equal(p[row][keep[row]], sub[0])


def test_softmax_ties_and_one_dominant_element() -> None:
    in_t, out_t = FixedType(8, 3), FixedType(9, 8, False)
    e_frac, r_frac = softmax_fracs(16, out_t)
    equal = softmax(np.full((1, 16), 5), in_t, out_t, e_frac, r_frac)
    assert np.all(equal == 16)  # 1/16 exactly
    dominant = softmax(np.array([[127] + [-128] * 15]), in_t, out_t, e_frac, r_frac)
    assert dominant[0, 0] == 256 and np.all(dominant[0, 1:] == 0)  # 1.0 holds in u9.8


# ---- layer norm ----------------------------------------------------------------------------------


@given(st.data())
@SETTINGS
def test_layernorm_within_its_error_bound(data: st.DataObject) -> None:
    in_t = data.draw(formats(3, 12))
    g_t, b_t = data.draw(formats(3, 10)), data.draw(formats(3, 10))
    out_t = data.draw(formats(4, 12))
    n = data.draw(st.integers(1, 64))
    eps = data.draw(st.sampled_from([0.0, 1e-12, 1e-5, 0.1]))
    rs, z = layernorm_fracs(n, in_t, g_t, out_t)
    if b_t.frac > g_t.frac + rs:
        b_t = FixedType(b_t.width, g_t.frac + rs)
    x, gamma, beta = raw(data.draw, in_t, (3, n)), raw(data.draw, g_t, (n,)), raw(data.draw, b_t, (n,))
    eps_int = layernorm_eps(eps, n, in_t, z)
    y = layernorm(x, in_t, gamma, g_t, beta, b_t, out_t, eps_int, rs, z)
    xf = x.astype(np.float64) * 2.0**-in_t.frac
    g, b = gamma * 2.0**-g_t.frac, beta * 2.0**-b_t.frac
    var = xf.var(axis=-1, keepdims=True)
    ref = np.where(var + eps > 0, (xf - xf.mean(axis=-1, keepdims=True)) / np.sqrt(np.maximum(var + eps, 1e-300)), 0)
    ref = np.clip(ref * g + b, out_t.min_int * 2.0**-out_t.frac, out_t.max_int * 2.0**-out_t.frac)
    s1, s2 = x.sum(-1).astype(object), (x.astype(object) ** 2).sum(-1)
    for row in range(3):
        u = int(n * s2[row] - s1[row] ** 2)
        if u == 0:  # a constant row: exactly beta
            assert np.array_equal(
                y[row], layernorm(x[row : row + 1] * 0, in_t, gamma * 0, g_t, beta, b_t, out_t, 0, rs, z)[0]
            )
            continue
        for c in range(n):
            bound = layernorm_error_bound(n, u, abs(g[c]), out_t, rs, z)
            assert abs(y[row, c] * 2.0**-out_t.frac - ref[row, c]) <= bound + 1e-9, (row, c)
            assert bound <= 0.625 * 2.0**-out_t.frac + 1e-12


def test_layernorm_reciprocal_square_root_is_exact_integer_arithmetic() -> None:
    x = np.array([[3, -1, 4, -1, 5, -9, 2, 6]])
    d, r = layernorm_stats(x, sqrt_extra=4, eps_int=7, rsqrt_frac=20)
    n, s1, s2 = 8, int(x.sum()), int((x**2).sum())
    q = math.isqrt(((n * s2 - s1 * s1) << 8) + 7)
    assert r[0, 0] == round_half_up(Fraction(2**24, q))
    assert list(d[0]) == [n * int(v) - s1 for v in x[0]]


def test_layernorm_eps_is_rounded_from_the_floats_exact_value() -> None:
    t = FixedType(8, 4)
    assert layernorm_eps(1e-12, 64, t, 10) == round_half_up(Fraction(1e-12) * 64 * 64 * 2**28)
    assert layernorm_eps(0.0, 64, t, 10) == 0
    with pytest.raises(ValueError, match="eps"):
        layernorm_eps(-1.0, 4, t, 0)


def test_default_scale_bits() -> None:
    assert SCALE_BITS == 12 and score_scale(16) == (2048, 13) and score_scale(64) == (2048, 14)
