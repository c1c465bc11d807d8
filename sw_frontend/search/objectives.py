"""Hardware objectives of `ch search --cost mapper` (``--objective``): which figure of the mapper's
folded pipeline the search minimises.

- ``luteq`` (default): LUT-equivalents of the resource estimate, ``Resources.cost()``
  (LUT + 0.5 FF + 60 DSP + 200 BRAM);
- ``lut``, ``ff``, ``dsp``, ``bram``: one resource of the estimate (LUTs, flip-flops, DSP48E1
  slices, 36 kb block RAMs);
- ``fit``: the largest fraction of :data:`FIT_DEVICE`'s LUTs, flip-flops, DSP slices and block RAMs
  that the design uses (each resource weighted by the device's capacity; above 1: it does not fit);
- ``latency``: the mapper's predicted latency of one inference, in cycles.

Every objective but ``latency`` is a function of resources alone, so :func:`resource_objective`
also gives it for the resources Yosys measures (``--verify-front``). This module imports no torch
and no mapper, so that the option table (sw_frontend/options.py) can name the choices.
"""

from __future__ import annotations

from typing import Protocol

#: Objectives computed from resources alone (estimated or measured).
RESOURCE_OBJECTIVES = ("luteq", "lut", "ff", "dsp", "bram", "fit")
OBJECTIVES = (*RESOURCE_OBJECTIVES, "latency")
DEFAULT_OBJECTIVE = "luteq"
#: The device of ``fit``: Xilinx Artix-7 XC7A100T (63,400 LUT6, 126,800 flip-flops, 240 DSP48E1
#: slices, 135 RAMB36 block RAMs; Xilinx DS180, 7 Series FPGAs Data Sheet: Overview).
FIT_DEVICE: dict[str, int] = {"lut": 63_400, "ff": 126_800, "dsp": 240, "bram": 135}
FIT_DEVICE_NAME = "xc7a100t"
RESOURCES = ("lut", "ff", "dsp", "bram")


class ResourceCounts(Protocol):
    """LUTs, flip-flops, DSP slices and block RAMs (``mapper.graph.Resources``)."""

    lut: int
    ff: int
    dsp: int
    bram: float

    def cost(self) -> float: ...


def resource_objective(r: ResourceCounts, objective: str) -> float:
    """The value of ``objective`` (one of :data:`RESOURCE_OBJECTIVES`) for the resources ``r``."""
    if objective == "luteq":
        return float(r.cost())
    if objective == "fit":
        return max(getattr(r, k) / FIT_DEVICE[k] for k in RESOURCES)
    if objective in RESOURCES:
        return float(getattr(r, objective))
    raise ValueError(
        f"objective '{objective}' is not a function of resources; allowed: {', '.join(RESOURCE_OBJECTIVES)}"
    )


def objective_label(objective: str) -> str:
    """Axis and column label of ``objective``, with its unit."""
    return {
        "luteq": "LUT-equivalents",
        "lut": "LUTs",
        "ff": "flip-flops",
        "dsp": "DSP48E1 slices",
        "bram": "36 kb block RAMs",
        "fit": f"fraction of an {FIT_DEVICE_NAME} used (largest of LUT, FF, DSP, BRAM)",
        "latency": "predicted latency, cycles",
    }[objective]


def objective_help() -> str:
    """The ``--objective`` help text: every choice and the device figures of ``fit``."""
    d = FIT_DEVICE
    return (
        "hardware objective of --cost mapper: luteq (LUT + 0.5 FF + 60 DSP + 200 BRAM), lut, ff, dsp, bram, "
        f"fit (largest fraction used of an {FIT_DEVICE_NAME}: {d['lut']:,} LUT, {d['ff']:,} FF, {d['dsp']} DSP48E1, "
        f"{d['bram']} RAMB36) or latency (the mapper's predicted latency, cycles)"
    )
