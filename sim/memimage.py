"""Memory images ($readmemh files) for components whose constants live in ROMs.

Layouts are those stated in each module's header (rtl/linear/fixed_linear.sv): words of packed
lanes, lane 0 in the low bits, two's complement, one hexadecimal word per line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from common.atomic import write_text


def pack_lanes(values: npt.ArrayLike, width: int) -> int:
    """Pack integers into one word, element 0 in the low ``width`` bits, two's complement."""
    mask = (1 << width) - 1
    word = 0
    for i, v in enumerate(np.asarray(values).reshape(-1).tolist()):
        lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
        if not lo <= v <= hi:
            raise ValueError(f"value {v} does not fit {width} signed bits")
        word |= (int(v) & mask) << (i * width)
    return word


def unpack_lanes(word: int, count: int, width: int) -> list[int]:
    """Inverse of :func:`pack_lanes`."""
    mask = (1 << width) - 1
    out = []
    for i in range(count):
        v = (word >> (i * width)) & mask
        out.append(v - (1 << width) if v >> (width - 1) else v)
    return out


def linear_weight_words(w: npt.ArrayLike, in_par: int, out_par: int, w_width: int) -> list[int]:
    """fixed_linear weight image: word ``g*C + c`` holds ``w[g*OUT_PAR+o][c*IN_PAR+i]`` at lane
    ``o*IN_PAR + i`` (``w`` is ``(N, K)`` raw integers)."""
    wa = np.asarray(w)
    n, k = wa.shape
    if k % in_par or n % out_par:
        raise ValueError(f"IN_PAR={in_par} must divide K={k} and OUT_PAR={out_par} must divide N={n}")
    groups, steps = n // out_par, k // in_par
    return [
        pack_lanes(wa[g * out_par : (g + 1) * out_par, c * in_par : (c + 1) * in_par], w_width)
        for g in range(groups)
        for c in range(steps)
    ]


def linear_bias_words(b: npt.ArrayLike, out_par: int, b_width: int) -> list[int]:
    """fixed_linear bias image: word ``g`` holds ``b[g*OUT_PAR + o]`` at lane ``o``."""
    ba = np.asarray(b).reshape(-1)
    if ba.size % out_par:
        raise ValueError(f"OUT_PAR={out_par} must divide N={ba.size}")
    return [pack_lanes(ba[g * out_par : (g + 1) * out_par], b_width) for g in range(ba.size // out_par)]


def write_memh(path: Path, words: list[int], word_bits: int) -> Path:
    """Write ``words`` as a $readmemh file (atomically), zero-padded to ``word_bits``."""
    digits = max(1, (word_bits + 3) // 4)
    return write_text(path, "".join(f"{w:0{digits}x}\n" for w in words))


def conv2d_weight_matrix(w_ochw: npt.ArrayLike, window_par: int = 1) -> npt.NDArray[np.int64]:
    """fixed_conv2d's weight matrix from a torch-layout ``(O, C, KH, KW)`` weight: ``(O, Q*P*C)``
    with the window's pixels in raster order and the channels innermost, ``P = window_par``
    window pixels per step and ``Q = ceil(KH*KW / P)`` steps: zero columns for the pixels that
    pad the last step (none when P divides KH*KW). A depthwise ``(C, 1, KH, KW)`` weight gives
    fixed_dwconv2d's ``(C, Q*P)`` matrix, whose image is fixed_linear's layout with ``IN_PAR = P``
    and ``OUT_PAR = C``."""
    wa = np.asarray(w_ochw, dtype=np.int64)
    if wa.ndim != 4:
        raise ValueError(f"conv2d weight must be (O, C, KH, KW), got shape {wa.shape}")
    o, c, kh, kw = wa.shape
    if not 1 <= window_par <= kh * kw:
        raise ValueError(f"conv2d window_par {window_par} must be in 1 .. {kh * kw} (the window's pixels)")
    pad = (-(-kh * kw // window_par) * window_par - kh * kw) * c
    return np.pad(wa.transpose(0, 2, 3, 1).reshape(o, -1), ((0, 0), (0, pad)))
