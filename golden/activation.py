"""Element-wise activations as lookup tables: the reference of rtl/act/fixed_lut.sv.

An activation on a narrow fixed-point input is exactly a table: for every raw input ``q`` of
type ``in_t`` the entry is ``float_to_fixed(f(q * 2**-in_t.frac), out_t)`` (round half up,
saturate). The table is indexed by the raw two's-complement bit pattern, as the hardware does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from golden.fixed import FixedType, IntArray, as_int_array, fixed_to_float, float_to_fixed

MAX_TABLE_BITS = 12


def _gelu(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    from math import erf, sqrt  # noqa: PLC0415

    return x * 0.5 * (1.0 + np.vectorize(erf)(x / sqrt(2.0)))


#: Functions a table can be built from (float64 in, float64 out).
ACTIVATIONS: dict[str, Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]] = {
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": np.tanh,
    "gelu": _gelu,
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "exp": np.exp,
    "relu": lambda x: np.maximum(x, 0.0),
}


def table_inputs(in_t: FixedType) -> IntArray:
    """Raw input value of every table entry, entry ``i`` holding bit pattern ``i``."""
    if in_t.width > MAX_TABLE_BITS:
        raise ValueError(f"a table input may have at most {MAX_TABLE_BITS} bits, got {in_t.width}")
    idx = np.arange(1 << in_t.width, dtype=np.int64)
    if in_t.signed:
        idx = np.where(idx >= 1 << (in_t.width - 1), idx - (1 << in_t.width), idx)
    return idx


def activation_table(name: str, in_t: FixedType, out_t: FixedType) -> IntArray:
    """Raw outputs (type ``out_t``) of activation ``name`` for every raw input of ``in_t``."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(sorted(ACTIVATIONS))}")
    with np.errstate(over="ignore"):
        y = ACTIVATIONS[name](fixed_to_float(table_inputs(in_t), in_t))
    return float_to_fixed(y, out_t)


def lookup(q: npt.ArrayLike, table: npt.ArrayLike, in_t: FixedType) -> IntArray:
    """Apply a table to raw inputs of type ``in_t`` (index = the raw bit pattern)."""
    arr, tab = as_int_array(q), as_int_array(table)
    if tab.shape != (1 << in_t.width,):
        raise ValueError(f"a table for {in_t} needs {1 << in_t.width} entries, got {tab.shape}")
    return tab[arr & ((1 << in_t.width) - 1)]
