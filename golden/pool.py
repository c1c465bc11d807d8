"""Integer references of pooling: a max over each window, per channel (no rounding involved)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from golden.fixed import IntArray, as_int_array
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
