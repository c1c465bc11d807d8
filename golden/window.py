"""Integer reference of the sliding-window generator (rtl/conv/conv_window.sv).

Images travel as pixels in raster order with the channels of a pixel in lanes, i.e. an
``(H, W, C)`` array read row by row. The window generator emits, for each output position in
raster order, the ``KH * KW`` pixels of its window in raster order, zeros outside the image.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from golden.fixed import IntArray, as_int_array


def window_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Windows along one dimension: ``(size + 2*padding - kernel) // stride + 1``."""
    out = (size + 2 * padding - kernel) // stride + 1
    if kernel < 1 or stride < 1 or padding < 0 or out < 1:
        raise ValueError(f"window: kernel {kernel}, stride {stride}, padding {padding} do not fit size {size}")
    return out


def sliding_windows(image_hwc: npt.ArrayLike, kernel: tuple[int, int], stride: int, padding: int) -> IntArray:
    """Window pixels of one image: shape ``(OH, OW, KH, KW, C)``, zeros where padded."""
    img = as_int_array(image_hwc)
    if img.ndim != 3:
        raise ValueError(f"sliding_windows: image must be (H, W, C), got shape {img.shape}")
    h, w, c = img.shape
    kh, kw = kernel
    oh = window_output_size(h, kh, stride, padding)
    ow = window_output_size(w, kw, stride, padding)
    padded = np.pad(img, ((padding, padding), (padding, padding), (0, 0)))
    out = np.empty((oh, ow, kh, kw, c), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i, j, :] = padded[
                i : i + stride * (oh - 1) + 1 : stride, j : j + stride * (ow - 1) + 1 : stride, :
            ]
    return out


def window_beats(
    image_hwc: npt.ArrayLike, kernel: tuple[int, int], stride: int, padding: int, window_par: int
) -> IntArray:
    """conv_window's output beats of one image with ``window_par`` window pixels per beat: shape
    ``(OH * OW * Q, window_par * C)``, ``Q = ceil(KH * KW / window_par)`` beats per window, a
    beat's pixels in window raster order with the channels innermost, the last beat of a window
    padded with zero pixels when ``window_par`` does not divide ``KH * KW``."""
    windows = sliding_windows(image_hwc, kernel, stride, padding)
    oh, ow, kh, kw, c = windows.shape
    if not 1 <= window_par <= kh * kw:
        raise ValueError(f"window_beats: window_par {window_par} must be in 1 .. {kh * kw} (the window's pixels)")
    q = -(-kh * kw // window_par)
    flat = windows.reshape(oh * ow, kh * kw, c)
    padded = np.pad(flat, ((0, 0), (0, q * window_par - kh * kw), (0, 0)))
    return padded.reshape(oh * ow * q, window_par * c)
