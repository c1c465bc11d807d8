"""Fixed-point number formats and the integer arithmetic every implementation must reproduce.

A value of type ``FixedType(width, frac)`` is a two's-complement integer ``q`` (or an unsigned
one when ``signed`` is False) that means ``q * 2**-frac``. All functions here take NumPy arrays of
those raw integers and return NumPy ``int64`` arrays whenever the result lies in a type (every
saturated result does); floats appear only in :func:`float_to_fixed` and :func:`fixed_to_float`.

Rounding is always *round half up* (towards +infinity on ties), implemented with an arithmetic
right shift, and every narrowing saturates to the target range: nothing ever wraps.

Numeric domain: the golden model never wraps and never refuses a legal format. An intermediate (an
accumulator, a product, a value shifted left) is computed in NumPy ``int64`` only when a bound
proves that it fits, computed from the formats (:func:`accumulator_width` and the like) or from
the values themselves (:func:`shift_round`), at most :data:`INT64_BITS` bits; otherwise it is
computed exactly with Python integers held in NumPy ``object`` arrays (:func:`exact`): slower, but
unbounded. :func:`requantize` clamps before a left shift, so a shift into a narrow type never
builds a huge intermediate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
#: Raw integers as NumPy int64, or as Python integers in an object array when they are too wide.
AnyIntArray = npt.NDArray[np.int64] | npt.NDArray[np.object_]

#: Widest two's-complement intermediate the golden model computes in NumPy int64 (one bit below
#: int64's 64 leaves room to add a rounding constant or a second term of the same width).
INT64_BITS = 62
#: Former name of :data:`INT64_BITS`: wider intermediates are now computed exactly, not refused.
MAX_INTERMEDIATE_BITS = INT64_BITS


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
    def bits(self) -> int:
        """Two's-complement bits that hold every value of the type (one more when unsigned)."""
        return self.width + (0 if self.signed else 1)

    @property
    def scale(self) -> float:
        """Value of one least-significant bit, ``2**-frac``."""
        return 2.0 ** (-self.frac)

    def __str__(self) -> str:
        kind = "s" if self.signed else "u"
        return f"{kind}{self.width}.{self.frac}"


def exact(values: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """``values`` as an object array of Python integers (unbounded, exact arithmetic)."""
    arr = np.asarray(values)
    out = np.empty(arr.shape, dtype=object)
    out.reshape(-1)[:] = [int(v) for v in arr.reshape(-1).tolist()]
    return out


def as_int_array(values: npt.ArrayLike) -> AnyIntArray:
    """``values`` as an int64 array, or as Python integers in an object array when some value does
    not fit int64; non-integer input is refused (TypeError)."""
    arr = np.asarray(values)
    if arr.dtype == object:
        flat = arr.reshape(-1).tolist()
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in flat):
            raise TypeError("expected integer raw values, got an object array holding non-integers")
        if all(-(1 << 63) <= int(v) < (1 << 63) for v in flat):
            return np.asarray([int(v) for v in flat], dtype=np.int64).reshape(arr.shape)
        return exact(arr)
    if arr.dtype.kind not in "iub":
        raise TypeError(f"expected integer raw values, got dtype {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) >= 1 << 63:
        return exact(arr)
    return arr.astype(np.int64)


def value_bits(values: npt.ArrayLike) -> int:
    """Two's-complement bits that hold every one of ``values`` (1 for an empty array)."""
    arr = as_int_array(values)
    if arr.size == 0:
        return 1
    lo, hi = int(arr.min()), int(arr.max())
    return max((-lo - 1).bit_length() + 1 if lo < 0 else 1, hi.bit_length() + 1)


def fits_int64(bits: int) -> bool:
    """True when ``bits``-bit two's-complement intermediates may be computed in NumPy int64."""
    return bits <= INT64_BITS


def widen(values: npt.ArrayLike, bits: int) -> AnyIntArray:
    """``values`` ready for arithmetic whose results need ``bits`` bits: int64 when that fits
    (:func:`fits_int64`), else exact Python integers."""
    arr = as_int_array(values)
    return arr if arr.dtype != object and fits_int64(bits) else exact(arr)


def saturate(q: npt.ArrayLike, t: FixedType) -> IntArray:
    """Clamp raw integers into the range of ``t`` (an int64 result, whatever the input's width)."""
    arr = as_int_array(q)
    if arr.dtype == object:
        clamped = [min(t.max_int, max(t.min_int, v)) for v in arr.reshape(-1).tolist()]
        return np.asarray(clamped, dtype=np.int64).reshape(arr.shape)
    return np.clip(arr, t.min_int, t.max_int)


def in_range(q: npt.ArrayLike, t: FixedType) -> bool:
    """True when every raw integer already lies in the range of ``t``."""
    arr = as_int_array(q)
    if arr.dtype == object:
        return all(t.min_int <= v <= t.max_int for v in arr.reshape(-1).tolist())
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


def shift_round(q: npt.ArrayLike, shift: int) -> AnyIntArray:
    """Change the scale of raw integers by ``2**-shift`` with round half up, no saturation.

    ``shift > 0`` drops ``shift`` fraction bits: ``(q + 2**(shift-1)) >> shift`` (arithmetic).
    ``shift <= 0`` appends ``-shift`` zero fraction bits: ``q << -shift`` (exact).

    Exact for any shift and any values: int64 when the values' own width proves that the result
    and the rounding constant fit (:func:`fits_int64`), else Python integers in an object array
    (results that fit int64 come back as int64).
    """
    arr = as_int_array(q)
    if shift == 0:
        return arr
    bits = value_bits(arr)
    if shift > 0:
        wide = widen(arr, max(bits, shift) + 1)
        return as_int_array((wide + (1 << (shift - 1))) >> shift)
    wide = widen(arr, bits - shift)
    return as_int_array(wide << (-shift))


def requantize(q: npt.ArrayLike, in_frac: int, out: FixedType) -> IntArray:
    """Convert raw integers with ``in_frac`` fraction bits to type ``out``.

    Drops fraction bits with round half up (or appends zeros), then saturates to ``out``. Exact
    for any shift and any input width. Before a left shift by ``k`` the values are clamped to
    ``[ceil(min / 2**k) - 1, floor(max / 2**k) + 1]``, which saturates to the same result and
    keeps the shifted values within ``out``'s width plus one bit.
    """
    shift = in_frac - out.frac
    if shift >= 0:
        return saturate(shift_round(q, shift), out)
    k = -shift
    lo = -((-out.min_int) >> k)  # ceil(min / 2**k)
    hi = out.max_int >> k  # floor(max / 2**k)
    clamped = _clamp(as_int_array(q), lo - 1, hi + 1)
    return saturate(shift_round(clamped, shift), out)


def _clamp(arr: AnyIntArray, lo: int, hi: int) -> IntArray:
    """Clamp to ``[lo, hi]`` (both within int64): an int64 result."""
    if arr.dtype == object:
        clamped = [min(hi, max(lo, v)) for v in arr.reshape(-1).tolist()]
        return np.asarray(clamped, dtype=np.int64).reshape(arr.shape)
    return np.clip(arr, lo, hi)


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
    growth = (length - 1).bit_length()  # ceil(log2(length)), exactly
    products = in_t.width + w_t.width + growth
    if not with_bias:
        return products
    aligned = 0 if bias_t is None else bias_t.width + max(0, in_t.frac + w_t.frac - bias_t.frac)
    return max(products, aligned) + 1
