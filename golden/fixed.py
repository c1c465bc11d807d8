"""Fixed-point number formats and the integer arithmetic every implementation must reproduce.

A value of type ``FixedType(width, frac)`` is a two's-complement integer ``q`` (or an unsigned
one when ``signed`` is False) that means ``q * 2**-frac``. All functions here take and return
NumPy ``int64`` arrays of those raw integers; floats appear only in :func:`float_to_fixed` and
:func:`fixed_to_float`.

Rounding is always *round half up* (towards +infinity on ties), implemented with an arithmetic
right shift, and every narrowing saturates to the target range: nothing ever wraps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

#: Widest intermediate the golden model accepts: NumPy int64 must never overflow.
MAX_INTERMEDIATE_BITS = 62


@dataclass(frozen=True)
class FixedType:
    """A fixed-point format.

    Attributes:
        width: total bits, sign bit included for signed types (1 to 32).
        frac: fraction bits; ``q * 2**-frac`` is the value. May be negative or exceed width.
        signed: two's complement when True, plain binary when False.
    """

    width: int
    frac: int
    signed: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.width, int) or not 1 <= self.width <= 32:
            raise ValueError(f"FixedType width must be an integer in 1..32, got {self.width!r}")
        if not isinstance(self.frac, int) or not -32 <= self.frac <= 64:
            raise ValueError(f"FixedType frac must be an integer in -32..64, got {self.frac!r}")
        if self.signed and self.width < 2:
            raise ValueError("a signed FixedType needs width >= 2 (one sign bit and one value bit)")

    @property
    def min_int(self) -> int:
        """Smallest raw integer of the type."""
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_int(self) -> int:
        """Largest raw integer of the type."""
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def scale(self) -> float:
        """Value of one least-significant bit, ``2**-frac``."""
        return 2.0 ** (-self.frac)

    def __str__(self) -> str:
        kind = "s" if self.signed else "u"
        return f"{kind}{self.width}.{self.frac}"


def as_int_array(values: npt.ArrayLike) -> IntArray:
    """Return ``values`` as an int64 array, refusing non-integer input."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iub":
        raise TypeError(f"expected integer raw values, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def saturate(q: npt.ArrayLike, t: FixedType) -> IntArray:
    """Clamp raw integers into the range of ``t``."""
    return np.clip(as_int_array(q), t.min_int, t.max_int)


def in_range(q: npt.ArrayLike, t: FixedType) -> bool:
    """True when every raw integer already lies in the range of ``t``."""
    arr = as_int_array(q)
    return bool(np.all((arr >= t.min_int) & (arr <= t.max_int)))


def float_to_fixed(x: npt.ArrayLike, t: FixedType) -> IntArray:
    """Quantize real values: ``clamp(floor(x * 2**frac + 0.5))`` in the range of ``t``.

    NaN is rejected; +-inf saturate.
    """
    xf = np.asarray(x, dtype=np.float64)
    if np.isnan(xf).any():
        raise ValueError("float_to_fixed: input contains NaN")
    scaled = np.floor(xf * (2.0**t.frac) + 0.5)
    return np.clip(scaled, t.min_int, t.max_int).astype(np.int64)


def fixed_to_float(q: npt.ArrayLike, t: FixedType) -> npt.NDArray[np.float64]:
    """Real value of raw integers of type ``t``."""
    return as_int_array(q).astype(np.float64) * t.scale


def shift_round(q: npt.ArrayLike, shift: int) -> IntArray:
    """Change the scale of raw integers by ``2**-shift`` with round half up, no saturation.

    ``shift > 0`` drops ``shift`` fraction bits: ``(q + 2**(shift-1)) >> shift`` (arithmetic).
    ``shift <= 0`` appends ``-shift`` zero fraction bits: ``q << -shift`` (exact).
    """
    arr = as_int_array(q)
    if shift > 0:
        if shift > MAX_INTERMEDIATE_BITS:
            raise ValueError(f"shift_round: shift {shift} exceeds {MAX_INTERMEDIATE_BITS} bits")
        return (arr + (1 << (shift - 1))) >> shift
    if shift < 0:
        limit = 1 << (MAX_INTERMEDIATE_BITS + shift)
        if arr.size and (arr.max(initial=0) >= limit or arr.min(initial=0) < -limit):
            raise OverflowError(f"shift_round: left shift by {-shift} overflows int64")
        return arr << (-shift)
    return arr


def requantize(q: npt.ArrayLike, in_frac: int, out: FixedType) -> IntArray:
    """Convert raw integers with ``in_frac`` fraction bits to type ``out``.

    Drops fraction bits with round half up (or appends zeros), then saturates to ``out``.
    """
    return saturate(shift_round(q, in_frac - out.frac), out)


def accumulator_width(
    in_t: FixedType, w_t: FixedType, length: int, with_bias: bool, bias_t: FixedType | None = None
) -> int:
    """Bits of an accumulator that never overflows for a dot product of ``length`` terms.

    ``in_width + weight_width + ceil(log2(length))`` (docs/contracts.md), plus one bit when a bias is
    added. A bias whose format, once aligned to the accumulator's ``in_frac + weight_frac``
    fraction bits, is wider than the products widens the accumulator to it first: pass its
    format as ``bias_t``.
    """
    if length < 1:
        raise ValueError(f"dot product length must be >= 1, got {length}")
    growth = int(np.ceil(np.log2(length))) if length > 1 else 0
    products = in_t.width + w_t.width + growth
    if not with_bias:
        return products
    aligned = 0 if bias_t is None else bias_t.width + max(0, in_t.frac + w_t.frac - bias_t.frac)
    return max(products, aligned) + 1
