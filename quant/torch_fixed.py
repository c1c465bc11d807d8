"""golden/fixed.py's arithmetic on torch tensors (int64 raw integers), for the quantized modules.

Same rules as the golden model: float to fixed is ``clamp(floor(x * 2**frac + 0.5))`` computed in
float64 (exact for float32 and float64 inputs); requantize is round half up with an arithmetic
right shift, then saturate. Tests compare these with golden/ as integers.
"""

from __future__ import annotations

import torch

from golden.fixed import FixedType


def float_to_fixed(x: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Raw int64 integers of type ``t`` nearest to real ``x`` (round half up, saturate)."""
    # The NaN check is data-dependent control flow, which torch.export cannot capture: skip it there.
    tracing = torch.compiler.is_compiling() or torch.compiler.is_exporting()
    if not tracing and torch.isnan(x).any():
        raise ValueError("float_to_fixed: input contains NaN")
    scaled = torch.floor(x.detach().to(torch.float64) * (2.0**t.frac) + 0.5)
    return torch.clamp(scaled, t.min_int, t.max_int).to(torch.int64)


def output_dtype(t: FixedType) -> torch.dtype:
    """Float dtype that holds every value of ``t`` exactly (float32 up to 24 bits)."""
    return torch.float32 if t.width <= 24 else torch.float64


def fixed_to_float(q: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Real values of raw integers ``q`` of type ``t``, exact (see :func:`output_dtype`)."""
    return (q.to(torch.float64) * (2.0**-t.frac)).to(output_dtype(t))


#: Raw integers here are int64 tensors of at most this many two's-complement bits (the quantized
#: modules refuse formats whose accumulators need more): every step below is then exact.
INT64_BITS = 62


def shift_round(q: torch.Tensor, shift: int) -> torch.Tensor:
    """Scale raw integers by ``2**-shift``: round half up for ``shift > 0``, exact left shift else.

    Exact for ``|q| < 2**61`` (:data:`INT64_BITS`) and any right shift (a shift past 62 bits gives
    0); a left shift must keep the result within int64 (:func:`requantize` clamps first).
    """
    if shift > INT64_BITS:
        return torch.zeros_like(q)  # (q + 2**(shift-1)) >> shift is 0 for |q| < 2**(shift-1)
    if shift > 0:
        return (q + (1 << (shift - 1))) >> shift
    if shift < 0:
        return q << (-shift)
    return q


def requantize(q: torch.Tensor, in_frac: int, out: FixedType) -> torch.Tensor:
    """Raw integers with ``in_frac`` fraction bits to type ``out`` (round half up, saturate).

    Exact for any shift: before a left shift by ``k`` the values are clamped to
    ``[ceil(min / 2**k) - 1, floor(max / 2**k) + 1]``, which saturates to the same result without
    overflowing int64 (as golden.fixed.requantize does).
    """
    shift = in_frac - out.frac
    if shift < 0:
        k = min(-shift, INT64_BITS)  # a larger shift saturates every nonzero value all the same
        q = torch.clamp(q, -((-out.min_int) >> k) - 1, (out.max_int >> k) + 1)
        shifted = q << k if -shift == k else torch.sign(q) * (1 << INT64_BITS)
        return torch.clamp(shifted, out.min_int, out.max_int)
    return torch.clamp(shift_round(q, shift), out.min_int, out.max_int)


def ste(exact: torch.Tensor, shadow: torch.Tensor) -> torch.Tensor:
    """Straight-through estimator: the value of ``exact`` with the gradient of ``shadow``.

    ``shadow - shadow.detach()`` is exactly zero, so the sum equals ``exact`` bit for bit.
    """
    shadow = shadow.to(exact.dtype)
    return exact + (shadow - shadow.detach())
