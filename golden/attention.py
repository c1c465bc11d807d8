"""Integer references of the transformer components: matmul of two activations, softmax, layer norm.

These functions are the single definition of what ``rtl/attn/fixed_matmul.sv``,
``rtl/attn/fixed_softmax.sv`` and ``rtl/attn/fixed_layernorm.sv`` compute and of what the quantized
modules of :mod:`quant.attention` reproduce bit for bit (docs/contracts.md, "Transformer
arithmetic"). Every step is an exact integer operation with one stated rounding; the error of each
function against the real-valued function of its (already quantized) inputs is bounded by the
``*_error_bound`` functions below, which the property tests check against a high-precision
reference.

* :func:`matmul`: ``requant((A @ B) * scale)``: the exact dot products, times an unsigned integer
  ``scale`` with ``scale_frac`` fraction bits (the attention scores' ``1 / sqrt(d)``,
  :func:`score_scale`; 1 for the weighted sum of values), rounded once.
* :func:`softmax`: row maximum, an exponent table indexed by ``max - x`` (:func:`exp_table`), the
  exact sum, a rounded reciprocal, one multiplication and one rounding per element.
* :func:`layernorm`: exact integer mean and variance (scaled by the row length, so nothing is
  divided), an exact integer square root, a rounded reciprocal, per-channel scale and shift, one
  rounding per element.

GELU stays the table of :mod:`golden.activation`.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from golden.fixed import FixedType, IntArray, as_int_array, exact, in_range, requantize, widen

#: Bits of the unsigned integer that holds an attention-score scale (:func:`score_scale`).
SCALE_BITS = 12


def _ceil_log2(n: int) -> int:
    return (n - 1).bit_length() if n > 1 else 0


# ---- matmul of two activations -------------------------------------------------------------------


def score_scale(head_dim: int, bits: int = SCALE_BITS) -> tuple[int, int]:
    """``(scale, frac)`` with ``scale * 2**-frac`` the nearest to ``1 / sqrt(head_dim)`` (round half
    up) among ``bits``-bit unsigned integers with the most significant bit set.

    Computed exactly with integers: ``scale = (isqrt(4**(frac+1) // head_dim) + 1) // 2``. The
    relative error is at most ``2**-bits`` (half a unit in ``2**(bits-1) <= scale``).
    """
    if head_dim < 1 or bits < 2:
        raise ValueError(f"score_scale: head_dim ({head_dim}) and bits ({bits}) must be >= 1 and >= 2")
    # 2**frac / sqrt(head_dim) lies in [2**(bits-1), 2**bits) for this frac
    frac = bits - 1 + (math.isqrt(head_dim - 1).bit_length() if head_dim > 1 else 0)
    while True:
        scale = (math.isqrt((1 << (2 * frac + 2)) // head_dim) + 1) // 2
        if scale >= 1 << bits:
            frac -= 1
        elif scale < 1 << (bits - 1):
            frac += 1
        else:
            return scale, frac


def matmul_acc_frac(a_t: FixedType, b_t: FixedType, scale_frac: int = 0) -> int:
    """Fraction bits of the exact scaled dot product ``(a . b) * scale``."""
    return a_t.frac + b_t.frac + scale_frac


def matmul_acc_bits(a_t: FixedType, b_t: FixedType, k: int, scale: int = 1) -> int:
    """Two's-complement bits of the exact ``(a . b) * scale`` of ``k`` terms (never overflows)."""
    return a_t.bits + b_t.bits + _ceil_log2(k) + max(1, int(scale).bit_length())


def matmul(
    a: npt.ArrayLike,
    a_t: FixedType,
    b: npt.ArrayLike,
    b_t: FixedType,
    out_t: FixedType,
    scale: int = 1,
    scale_frac: int = 0,
) -> IntArray:
    """``requant((a @ b) * scale)`` on raw integers, batched over leading dimensions.

    Args:
        a: ``(..., M, K)`` in ``a_t`` (may be unsigned, e.g. probabilities).
        b: ``(..., K, N)`` in ``b_t``.
        out_t: output format; the exact product sum times ``scale`` has
            ``a_t.frac + b_t.frac + scale_frac`` fraction bits and is rounded half up and saturated
            once.
        scale, scale_frac: an unsigned integer and its fraction bits (1, 0: no scaling).

    Raises:
        ValueError: shapes disagree, a value lies outside its type, or ``scale < 1``.
    """
    aa, ba = as_int_array(a), as_int_array(b)
    if aa.ndim < 2 or ba.ndim < 2 or aa.shape[-1] != ba.shape[-2] or aa.shape[:-2] != ba.shape[:-2]:
        raise ValueError(f"matmul: a {aa.shape} and b {ba.shape} do not agree (a is (..., M, K), b (..., K, N))")
    for name, arr, t in (("a", aa, a_t), ("b", ba, b_t)):
        if not in_range(arr, t):
            raise ValueError(f"matmul: {name} has values outside its type {t}")
    if int(scale) < 1:
        raise ValueError(f"matmul: scale must be a positive integer, got {scale}")
    bits = matmul_acc_bits(a_t, b_t, aa.shape[-1], scale)
    acc = np.matmul(widen(aa, bits), widen(ba, bits))
    if int(scale) != 1:
        acc = acc * (int(scale) if acc.dtype == object else np.int64(scale))
    return requantize(acc, matmul_acc_frac(a_t, b_t, scale_frac), out_t)


def matmul_error_bound(out_t: FixedType, dot: float, scale: int, scale_frac: int, head_dim: int = 1) -> float:
    """Largest ``|y - y*|`` (real units) of an unsaturated :func:`matmul` output whose exact dot
    product is ``dot`` (real units), against ``dot / sqrt(head_dim)``: half an output step plus
    ``|dot| * |scale * 2**-scale_frac - 1/sqrt(head_dim)|`` (the scale's own rounding, relative
    error at most ``2**-SCALE_BITS``; 0 for ``scale = 1``, ``head_dim = 1``)."""
    return 2.0 ** -(out_t.frac + 1) + abs(dot) * abs(scale * 2.0**-scale_frac - 1.0 / math.sqrt(head_dim))


def matmul_stream(
    a: npt.ArrayLike,
    a_t: FixedType,
    b: npt.ArrayLike,
    b_t: FixedType,
    out_t: FixedType,
    heads: int,
    transpose_b: bool,
    n: int,
    scale: int = 1,
    scale_frac: int = 0,
) -> IntArray:
    """:func:`matmul` per head on streams in token-major order, what ``fixed_matmul`` computes.

    Args:
        a: ``(B, M * heads * K)``: rows ``(i, h)`` of ``K`` elements, row-major ``(M, heads, K)``.
        b: ``(B, heads * K * n)``: ``(n, heads, K)`` row-major with ``transpose_b`` (each head's
            ``B_h`` is ``(n, K)`` and ``y = A_h B_h^T``), else ``(K, heads, n)`` (``y = A_h B_h``).
        n: results per row.

    Returns:
        ``(B, M * heads * n)``: row-major ``(M, heads, n)``.
    """
    aa, ba = as_int_array(a), as_int_array(b)
    batch = aa.shape[0]
    k = ba.shape[1] // (heads * n)
    if ba.shape[1] != heads * k * n or aa.shape[1] % (heads * k):
        raise ValueError(f"matmul_stream: a {aa.shape} and b {ba.shape} do not fit heads={heads}, n={n}")
    m = aa.shape[1] // (heads * k)
    a4 = aa.reshape(batch, m, heads, k).transpose(0, 2, 1, 3)  # (B, heads, M, K)
    if transpose_b:
        b4 = ba.reshape(batch, n, heads, k).transpose(0, 2, 3, 1)  # (B, heads, K, n)
    else:
        b4 = ba.reshape(batch, k, heads, n).transpose(0, 2, 1, 3)  # (B, heads, K, n)
    y = matmul(a4, a_t, b4, b_t, out_t, scale, scale_frac)  # (B, heads, M, n)
    return np.ascontiguousarray(y.transpose(0, 2, 1, 3)).reshape(batch, -1)


# ---- softmax -------------------------------------------------------------------------------------


def softmax_fracs(n: int, out_t: FixedType) -> tuple[int, int]:
    """Default internal precision of a softmax over ``n`` elements with output ``out_t``:
    ``(e_frac, r_frac) = (out.frac + 4 + ceil(log2(n + 1)), out.frac + 4)``, which keeps the error
    within ``2**-out.frac * (1/2 + 1/32 + 1/32)`` (:func:`softmax_error_bound`)."""
    return out_t.frac + 4 + _ceil_log2(n + 1), out_t.frac + 4


@lru_cache(maxsize=64)
def _exp_table(width: int, frac: int, e_frac: int) -> tuple[int, ...]:
    entries = []
    with localcontext() as ctx:
        ctx.prec = 60
        one = Decimal(2) ** e_frac
        step = Decimal(2) ** (-frac)
        for d in range(1 << width):
            value = (Decimal(-d) * step).exp() * one
            q = int(value.to_integral_value(rounding=ROUND_HALF_UP))
            if q == 0:
                break
            entries.append(q)
    return tuple(entries)


def exp_table(in_t: FixedType, e_frac: int) -> IntArray:
    """The softmax's exponent table for inputs of ``in_t``: entry ``d`` is
    ``floor(exp(-d * 2**-in_t.frac) * 2**e_frac + 1/2)`` (round half up of the exact value, computed
    with 60 decimal digits), for ``d = 0, 1, ...`` up to the last nonzero entry and at most
    ``2**in_t.width`` entries (``d = max - x`` lies in ``[0, 2**width - 1]``). Entry 0 is
    ``2**e_frac``; every ``d`` past the table's end has exponent 0."""
    if e_frac < 0 or e_frac > 30:
        raise ValueError(f"exp_table: e_frac must be in 0..30, got {e_frac}")
    return np.asarray(_exp_table(in_t.width, in_t.frac, e_frac), dtype=np.int64)


def softmax_reciprocal(total: npt.ArrayLike, e_frac: int, r_frac: int) -> IntArray:
    """``round_half_up(2**(e_frac + r_frac) / total)`` exactly: ``(2**(e_frac+r_frac+1) + total) //
    (2 * total)`` (``total >= 1``), the reciprocal of the exponent sum with ``r_frac`` fraction bits."""
    t = as_int_array(total)
    num = 1 << (e_frac + r_frac + 1)
    if t.dtype == object or e_frac + r_frac + 2 > 62:
        te = exact(t)
        return as_int_array((num + te) // (2 * te))
    return (num + t) // (2 * t)


def softmax(
    x: npt.ArrayLike,
    in_t: FixedType,
    out_t: FixedType,
    e_frac: int,
    r_frac: int,
    mask: npt.ArrayLike | None = None,
) -> IntArray:
    """Row-wise softmax over the last axis on raw integers.

    Per row: ``m = max x``; ``e_j = table[m - x_j]`` (:func:`exp_table`, 0 past its end); the exact
    sum ``s = sum e_j`` (``>= 2**e_frac``, the maximum's entry); ``r = round_half_up(2**(e_frac +
    r_frac) / s)`` (:func:`softmax_reciprocal`); ``p_j = requant(e_j * r, e_frac + r_frac -> out_t)``.

    Args:
        x: ``(..., N)`` in ``in_t``.
        out_t: output format (usually unsigned, e.g. ``u8.8`` or ``u9.8`` to hold 1.0).
        e_frac, r_frac: fraction bits of the exponents and of the reciprocal
            (:func:`softmax_fracs` gives the defaults).
        mask: optional boolean ``(..., N)``; False positions are left out of the maximum and the
            sum and get probability 0 (every row needs one True). The hardware has no mask (every
            position of a sequence counts).
    """
    xa = as_int_array(x)
    if xa.ndim < 1 or xa.shape[-1] < 1:
        raise ValueError(f"softmax: x needs a last axis of at least one element, got {xa.shape}")
    if not in_range(xa, in_t):
        raise ValueError(f"softmax: x has values outside its type {in_t}")
    xa = xa.astype(np.int64)
    keep = np.ones(xa.shape, dtype=bool) if mask is None else np.broadcast_to(np.asarray(mask, dtype=bool), xa.shape)
    if not keep.any(axis=-1).all():
        raise ValueError("softmax: a row has every position masked")
    table = exp_table(in_t, e_frac)
    m = np.where(keep, xa, np.iinfo(np.int64).min).max(axis=-1, keepdims=True)
    d = np.where(keep, m - xa, len(table))
    e = np.where(d < len(table), table[np.minimum(d, len(table) - 1)], 0)
    total = e.sum(axis=-1, keepdims=True)
    r = softmax_reciprocal(total, e_frac, r_frac)
    bits = e_frac + 2 + r_frac + 2
    return requantize(widen(e, bits) * widen(r, bits), e_frac + r_frac, out_t)


def softmax_error_bound(n: int, out_t: FixedType, e_frac: int, r_frac: int) -> float:
    """Largest ``|p - p*|`` of :func:`softmax` against the exact softmax of the same input values,
    before saturation (outputs above the format's maximum become the maximum):
    ``2**-(out.frac+1) + (n+1) * 2**-(e_frac+1) + 2**-(r_frac+1)``.

    Derivation (docs/contracts.md): each table entry is within ``2**-(e_frac+1)`` of its exponent
    (entries past the table are below that), so the sum is within ``n * 2**-(e_frac+1)`` of its
    own and is at least 1; ``e_j / s`` is then within ``(n+1) * 2**-(e_frac+1)`` of ``p*_j``; the
    reciprocal's rounding adds ``e_j * 2**-(r_frac+1) <= 2**-(r_frac+1)``; the final rounding half
    an output step."""
    return 2.0 ** -(out_t.frac + 1) + (n + 1) * 2.0 ** -(e_frac + 1) + 2.0 ** -(r_frac + 1)


# ---- layer norm ----------------------------------------------------------------------------------


def layernorm_fracs(n: int, in_t: FixedType, g_t: FixedType, out_t: FixedType) -> tuple[int, int]:
    """Default ``(rsqrt_frac, sqrt_extra)`` of a layer norm over ``n`` elements: the smallest that
    keep the scale-and-rounding error below ``2**-(out.frac+3)`` for every input of ``in_t`` and
    every gamma of ``g_t`` (:func:`layernorm_error_bound` with the largest variance the format
    allows), so the whole error stays within 5/8 of an output step."""
    g_max = float(max(abs(g_t.min_int), abs(g_t.max_int))) * 2.0**-g_t.frac
    target = 2.0 ** -(out_t.frac + 3)
    # V = n * S2 - S1**2 <= n**2 * max|x|**2
    x_max = max(abs(in_t.min_int), abs(in_t.max_int))
    sqrt_u_max = n * x_max
    z = 0
    while g_max * math.sqrt(n) / (2.0**z - 1 if z else 0.5) > target / 2:
        z += 1
    rs = 0
    while g_max * math.sqrt(n) * sqrt_u_max * 2.0 ** -(rs + 1) > target / 2:
        rs += 1
    return rs, z


def layernorm_eps(eps: float, n: int, in_t: FixedType, sqrt_extra: int) -> int:
    """``eps`` as the integer added to the scaled variance: ``round_half_up(eps * n**2 *
    2**(2 * (in.frac + sqrt_extra)))``, computed exactly from the float's value."""
    if eps < 0 or not math.isfinite(eps):
        raise ValueError(f"layernorm: eps must be a finite value >= 0, got {eps}")
    v = Fraction(eps) * n * n * Fraction(2) ** (2 * (in_t.frac + sqrt_extra))
    return math.floor(v + Fraction(1, 2))


def layernorm_stats(x: npt.ArrayLike, sqrt_extra: int, eps_int: int, rsqrt_frac: int) -> tuple[IntArray, IntArray]:
    """``(d, r)`` of :func:`layernorm` for raw rows ``x (..., n)``: the centred values
    ``d = n*x - sum(x)`` and the per-row reciprocal square root ``r`` (shape ``(..., 1)``)."""
    xa = exact(as_int_array(x))
    n = xa.shape[-1]
    s1 = xa.sum(axis=-1, keepdims=True)
    s2 = (xa * xa).sum(axis=-1, keepdims=True)
    d = n * xa - s1
    v = n * s2 - s1 * s1
    w = (v << (2 * sqrt_extra)) + eps_int
    q = np.vectorize(lambda u: math.isqrt(max(int(u), 1)), otypes=[object])(w)
    r = ((1 << (rsqrt_frac + sqrt_extra + 1)) + q) // (2 * q)
    return as_int_array(d), as_int_array(r)


def layernorm(
    x: npt.ArrayLike,
    in_t: FixedType,
    gamma: npt.ArrayLike,
    g_t: FixedType,
    beta: npt.ArrayLike,
    b_t: FixedType,
    out_t: FixedType,
    eps_int: int,
    rsqrt_frac: int,
    sqrt_extra: int,
) -> IntArray:
    """Layer norm over the last axis (``n`` elements) on raw integers, per-channel gamma and beta.

    Per row (all exact integers until the one rounding)::

        S1 = sum x,  S2 = sum x**2,  d_c = n * x_c - S1                 (n * (x - mean) * 2**f)
        W  = ((n * S2 - S1**2) << 2Z) + eps_int                         (n**2 var * 2**(2f + 2Z))
        q  = isqrt(max(W, 1))                                           (floor)
        r  = round_half_up(2**(RS + Z) / q) = (2**(RS+Z+1) + q) // (2q)  (~ 2**RS / sqrt(var ...))
        y_c = requant(gamma_c * d_c * r + (beta_c << (g.frac + RS - b.frac)), g.frac + RS -> out)

    with ``f = in.frac``, ``Z = sqrt_extra``, ``RS = rsqrt_frac``, ``eps_int``
    (:func:`layernorm_eps`). ``W`` is raised to 1 only when every element of the row is equal and
    ``eps_int`` is 0, where every ``d_c`` is 0 and ``y_c = beta_c`` exactly.

    Raises:
        ValueError: shapes disagree, a value lies outside its type, or beta is finer than
            ``g.frac + rsqrt_frac``.
    """
    xa, ga, ba = as_int_array(x), as_int_array(gamma), as_int_array(beta)
    n = xa.shape[-1] if xa.ndim else 0
    if n < 1 or ga.shape != (n,) or ba.shape != (n,):
        raise ValueError(f"layernorm: x {xa.shape} needs gamma and beta of shape (n,), got {ga.shape}, {ba.shape}")
    for name, arr, t in (("x", xa, in_t), ("gamma", ga, g_t), ("beta", ba, b_t)):
        if not in_range(arr, t):
            raise ValueError(f"layernorm: {name} has values outside its type {t}")
    acc_frac = g_t.frac + rsqrt_frac
    if b_t.frac > acc_frac:
        raise ValueError(f"layernorm: beta frac {b_t.frac} exceeds gamma frac + rsqrt_frac = {acc_frac}")
    d, r = layernorm_stats(xa, sqrt_extra, eps_int, rsqrt_frac)
    acc = exact(ga) * exact(d) * exact(r) + (exact(ba) << (acc_frac - b_t.frac))
    return requantize(acc, acc_frac, out_t)


def layernorm_error_bound(n: int, u: float, gamma: float, out_t: FixedType, rsqrt_frac: int, sqrt_extra: int) -> float:
    """Largest ``|y - y*|`` of an unsaturated :func:`layernorm` output against the exact
    ``gamma * (x - mean) / sqrt(var + eps) + beta`` of the same values, for a row with scaled
    variance ``u = n * S2 - S1**2`` (raw units, ``u >= 1``) and a channel with ``|gamma| = gamma``:
    ``|gamma| * sqrt(n) * (sqrt(u) * 2**-(RS+1) + 1 / (2**Z - 1) + 2**-(2Z+1)) + 2**-(out.frac+1)``.

    Derivation (docs/contracts.md): ``|d| <= sqrt(n * u)``; ``r`` is within 1/2 of
    ``2**(RS+Z)/q`` (first term); ``q`` is within 1 of ``sqrt(W)`` with ``W >= 4**Z`` (second);
    ``eps_int`` within 1/2 of its exact value (third); the final rounding half an output step.
    """
    z = sqrt_extra
    scale = math.sqrt(n) * (math.sqrt(u) * 2.0 ** -(rsqrt_frac + 1) + 1.0 / (2.0**z - 1 if z else 0.5))
    return gamma * (scale + math.sqrt(n) * 2.0 ** -(2 * z + 1)) + 2.0 ** -(out_t.frac + 1)
