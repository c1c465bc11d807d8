"""Pipeline depths of the library's pipelined components, as their RTL headers state them.

Kept apart from the registry's cost model so that the formulas have one home; every function
mirrors one header (rtl/arith/mult_pipe.sv, rtl/linear/fixed_linear.sv, rtl/arith/fixed_cast.sv).
"""

from __future__ import annotations

import math


def limbs(width: int) -> int:
    """mult_pipe's 18 x 18 pieces of a signed operand: 1 up to 18 bits, then one per 17 more."""
    return 1 if width <= 18 else 1 + math.ceil((width - 18) / 17)


def product_sum_levels(a_width: int, b_width: int) -> int:
    """mult_pipe's adder levels after the partial products: ceil(log2(limbs(a) * limbs(b)))."""
    n = limbs(a_width) * limbs(b_width)
    return math.ceil(math.log2(n)) if n > 1 else 0


def rom_in_bram(words: int, word_bits: int) -> bool:
    """fixed_linear's rule for a weight ROM left to block RAM: >= 512 words and >= 16 kb."""
    return words >= 512 and words * word_bits >= 16384


def linear_latency(in_width: int, in_signed: bool, w_width: int, in_par: int, bram: bool) -> int:
    """fixed_linear: cycles from a group's last step to its output beat, 6 + R + M + T (issue,
    R = 1 register behind a block-RAM weight ROM, multiplier input, product, M product-sum
    levels, T = ceil(log2(IN_PAR)) adder-tree levels, accumulator, requantizer, skid buffer)."""
    xw = in_width + (0 if in_signed else 1)
    tree = math.ceil(math.log2(in_par)) if in_par > 1 else 0
    return 6 + (1 if bram else 0) + product_sum_levels(xw, w_width) + tree


#: fixed_cast / fixed_relu: the requantizer's register, then the skid buffer.
REQUANT_LATENCY = 2

#: fixed_lut: the table read, the entry register, the skid buffer.
LUT_LATENCY = 3
