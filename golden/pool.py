"""Integer references of pooling, per channel: a max over each window (no rounding involved) and
an average (exact sum times a rounded reciprocal constant, one requantization)."""

from __future__ import annotations

import numpy.typing as npt

from golden.fixed import FixedType, IntArray, as_int_array, in_range, requantize, widen
from golden.window import sliding_windows


def max_reduce(beats: npt.ArrayLike, window: int) -> IntArray:
    """Per-lane maximum of every ``window`` consecutive beats: ``(G*window, C) -> (G, C)``."""
    arr = as_int_array(beats)
    if arr.ndim != 2 or arr.shape[0] % window:
        raise ValueError(f"max_reduce: {arr.shape[0]} beats are not whole windows of {window}")
    return arr.reshape(-1, window, arr.shape[1]).max(axis=1)


def maxpool2d(image_hwc: npt.ArrayLike, kernel: tuple[int, int], stride: int, padding: int = 0) -> IntArray:
    """Max pooling of one ``(H, W, C)`` image: ``(OH, OW, C)``.

    Padding pixels are zeros, as the window generator emits them (PyTorch pads with -inf; the
    mapper only uses padding 0 for pooling).
    """
    windows = sliding_windows(image_hwc, kernel, stride, padding)
    return windows.max(axis=(2, 3))


def avg_recip(window: int, recip_frac: int) -> int:
    """The reciprocal constant of average pooling: ``round_half_up(2**recip_frac / window)``.

    ``recip_frac`` must be at least ``ceil(log2(window))`` so that the constant is not 0.
    """
    if window < 1:
        raise ValueError(f"avg_recip: window must be >= 1, got {window}")
    if not (window - 1).bit_length() <= recip_frac <= 32:
        raise ValueError(
            f"avg_recip: recip_frac must be in {(window - 1).bit_length()}..32 "
            f"(ceil(log2(window={window}))..32), got {recip_frac}"
        )
    return ((1 << (recip_frac + 1)) + window) // (2 * window)


def avg_reduce(beats: npt.ArrayLike, window: int, in_t: FixedType, out_t: FixedType, recip_frac: int) -> IntArray:
    """Per-lane average of every ``window`` consecutive beats: ``(G*window, C) -> (G, C)``.

    The exact sum of each window is multiplied by ``RECIP = avg_recip(window, recip_frac)`` and
    the product (``in_t.frac + recip_frac`` fraction bits) is rounded half up and saturated to
    ``out_t``. This approximates the mean: it is exactly ``requant(mean)`` when ``window`` is a
    power of two (then RECIP is ``2**(recip_frac - log2(window))``); otherwise RECIP carries a
    relative error of at most ``window / 2**(recip_frac + 1)``, which can move a result by one
    output step near a rounding tie.
    """
    arr = as_int_array(beats)
    if arr.ndim != 2 or arr.shape[0] % window:
        raise ValueError(f"avg_reduce: {arr.shape[0]} beats are not whole windows of {window}")
    if not in_range(arr, in_t):
        raise ValueError(f"avg_reduce: beats have values outside their type {in_t}")
    recip = avg_recip(window, recip_frac)
    # the window's sum times the constant: computed in int64 when it fits, exactly otherwise
    bits = in_t.bits + (window - 1).bit_length() + recip.bit_length() + 1
    sums = widen(arr, bits).reshape(-1, window, arr.shape[1]).sum(axis=1)
    return requantize(sums * recip, in_t.frac + recip_frac, out_t)
