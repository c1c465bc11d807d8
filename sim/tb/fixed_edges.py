"""Edge values for fixed-point benches: the raw inputs where rounding and saturation decide.

A bench puts these in ``BenchSpec.extremes`` so that ties, range ends and the values either side
of a saturation threshold come up often instead of once in a blue moon.
"""

from __future__ import annotations

from golden.fixed import FixedType


def range_edges(t: FixedType) -> list[int]:
    """The ends of ``t``'s range and the values around zero (raw integers)."""
    return sorted({t.min_int, t.min_int + 1, t.max_int - 1, t.max_int, -1, 0, 1})


def requant_edges(in_t: FixedType, out_t: FixedType) -> list[int]:
    """Raw inputs of type ``in_t`` that sit on rounding ties or saturation thresholds of a
    conversion to ``out_t``, plus the ends of ``in_t``'s range. Values outside ``in_t`` are left
    in; the stimulus generator drops them.

    With ``s = in_t.frac - out_t.frac > 0`` an input ``k * 2**s + 2**(s-1)`` is a tie (it rounds up
    to ``k + 1``); the largest input that still fits is ``max * 2**s + 2**(s-1) - 1``.
    """
    edges = set(range_edges(in_t))
    s = in_t.frac - out_t.frac
    if s > 0:
        half = 1 << (s - 1)
        for k in (-3, -2, -1, 0, 1, 2):
            edges |= {k * (1 << s) + half - 1, k * (1 << s) + half, k * (1 << s) + half + 1}
        top = out_t.max_int * (1 << s) + half  # first input that saturates high
        bottom = out_t.min_int * (1 << s) - half  # last input that still rounds to min_int
        edges |= {top - 1, top, bottom - 1, bottom}
    else:
        top = out_t.max_int >> -s  # largest input that fits after the left shift
        bottom = -((-out_t.min_int) >> -s)
        edges |= {top, top + 1, bottom, bottom - 1}
    return sorted(edges)
