"""Activation tables (golden/activation.py): the rounding of every entry and the lookup order."""

from __future__ import annotations

import numpy as np
import pytest

from golden.activation import activation_table, lookup, table_inputs
from golden.fixed import FixedType


def test_table_inputs_follow_the_twos_complement_bit_pattern() -> None:
    assert table_inputs(FixedType(3, 0)).tolist() == [0, 1, 2, 3, -4, -3, -2, -1]
    assert table_inputs(FixedType(2, 0, signed=False)).tolist() == [0, 1, 2, 3]


def test_sigmoid_entries_round_half_up_and_saturate() -> None:
    in_t, out_t = FixedType(8, 4), FixedType(8, 8, signed=False)
    table = activation_table("sigmoid", in_t, out_t)
    assert table[0] == 128  # sigmoid(0) = 0.5 = 128 / 256
    assert table[127] == 255  # sigmoid(7.9375) = 0.99964 -> 255.9 rounds to 256, saturates at 255
    assert table[128] == 0  # sigmoid(-8) = 0.000335 -> 0.086 rounds to 0
    x = table_inputs(in_t) / 16.0
    expected = np.clip(np.floor(256.0 / (1.0 + np.exp(-x)) + 0.5), 0, 255)
    assert table.tolist() == expected.astype(np.int64).tolist()


def test_lookup_indexes_by_raw_bits() -> None:
    in_t = FixedType(4, 2)
    table = activation_table("tanh", in_t, FixedType(8, 6))
    q = np.array([-8, -1, 0, 7])
    assert lookup(q, table, in_t).tolist() == [table[8], table[15], table[0], table[7]]
    assert lookup(q, table, in_t).tolist() == activation_table("tanh", in_t, FixedType(8, 6))[[8, 15, 0, 7]].tolist()


def test_unknown_activation_and_oversized_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'; known: exp, gelu"):
        activation_table("swish", FixedType(8, 4), FixedType(8, 4))
    with pytest.raises(ValueError, match="at most 12 bits"):
        table_inputs(FixedType(16, 8))
