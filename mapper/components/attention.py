"""The transformer components (rtl/attn/): two-stream matmul, row-wise softmax, layer norm, and
the pipelined primitives they are built from (and `add_tree`). Golden functions: :mod:`golden.attention`.

| component | what |
| --- | --- |
| ``attn_divide`` | pipelined restoring divider (primitive) |
| ``attn_isqrt`` | pipelined digit-by-digit integer square root (primitive) |

``fixed_matmul``, ``fixed_softmax`` and ``fixed_layernorm`` have a file each
(:mod:`mapper.components.matmul`, :mod:`.softmax`, :mod:`.layernorm`); this one holds the
primitives and the beat model of all three for the benches.
"""

from __future__ import annotations

from typing import Any

from mapper.components.base import (
    Component,
    register,
)
from mapper.components.layernorm import layernorm_schedule
from mapper.components.matmul import matmul_schedule
from mapper.components.softmax import softmax_schedule


@register
class AttnDivide(Component):
    name = "attn_divide"
    kind = "attn"
    summary = "pipelined unsigned division (restoring, one quotient bit per stage), a tag alongside"
    defaults = {"NUM_WIDTH": 16, "DEN_WIDTH": 8, "Q_WIDTH": 8, "TAG_WIDTH": 1}


@register
class AttnIsqrt(Component):
    name = "attn_isqrt"
    kind = "attn"
    summary = "pipelined integer square root (digit by digit, one root bit per stage), a tag alongside"
    defaults = {"WIDTH": 16, "TAG_WIDTH": 1}


#: The benched transformer components (tests/test_attention_components.py runs each sweep).
ATTENTION_COMPONENTS = ("fixed_matmul", "fixed_softmax", "fixed_layernorm")


def beat_model(name: str, params: dict[str, Any], offered: dict[str, list[int]]) -> list[int]:
    """Output beat cycles of one sequence (group) of component ``name`` from the cycles its input
    beats are offered, by port (the model the mapper's schedule uses)."""
    if name == "fixed_matmul":
        return matmul_schedule(params, offered["data_in_0"], offered["data_in_1"])[2]
    if name == "fixed_softmax":
        return softmax_schedule(params, offered["data_in"])
    if name == "fixed_layernorm":
        return layernorm_schedule(params, offered["data_in"])
    raise KeyError(f"no beat model for {name}")
