"""The calibrated resource model: structural terms per component, coefficients fitted on Yosys.

A descriptor that takes part states its resources as :class:`Terms` computed from its RTL
parameters (:meth:`mapper.components.base.Component.resource_terms`): DSP48E1 slices and block
RAMs counted exactly the way synthesis places them, and LUTs and flip-flops as named structural
quantities (``"acc"``: accumulator bits, ``"mult_lut"``: multiplier bits built from LUTs, ...).
:func:`estimate` weighs each quantity with the coefficient fitted for that component and
resource in ``resources_xc7.json`` (written by ``make calibrate``, :mod:`mapper.calibrate`: Yosys
``synth_xilinx`` runs of each component on a grid of widths, parallelism and memory depths,
fitted by non-negative least squares). A term the fit has not seen counts with coefficient 1.

Units: LUT = Xilinx 7-series LUT1..LUT6 cells (LUTRAM is reported apart), FF = flip-flop cells,
DSP = DSP48E1 slices, BRAM = 36 kb tiles (a RAMB36E1 is one, a RAMB18E1 half of one).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from mapper.graph import Resources

#: The committed calibration: grid points (parameters and Yosys figures) and the fit.
CALIBRATION_FILE = Path(__file__).with_name("resources_xc7.json")

#: Resources whose terms are fitted (DSP and BRAM are counted exactly).
FITTED = ("lut", "ff")

#: Block RAM shapes of the 7 series as (words, bits per word): RAMB18E1 (up to 36 bits wide in
#: simple dual-port mode) and RAMB36E1 (up to 72).
RAMB18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
RAMB36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))


@dataclass
class Terms:
    """Structural quantities of one component instance.

    Attributes:
        lut, ff: term name -> quantity (bits, lanes, ...); the fit turns them into cells.
        dsp: DSP48E1 slices (exact).
        bram: 36 kb block RAM tiles (exact; a RAMB18E1 is half a tile).
    """

    lut: dict[str, float] = field(default_factory=dict)
    ff: dict[str, float] = field(default_factory=dict)
    dsp: int = 0
    bram: float = 0.0

    def __add__(self, other: Terms) -> Terms:
        def merged(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
            return {k: a.get(k, 0.0) + b.get(k, 0.0) for k in {**a, **b}}

        return Terms(
            merged(self.lut, other.lut), merged(self.ff, other.ff), self.dsp + other.dsp, self.bram + other.bram
        )


def rom_bram_tiles(words: int, bits: int) -> float:
    """36 kb block RAM tiles of a ``words`` x ``bits`` memory the way Yosys' memory_libmap lays it
    out on the 7 series: the cheapest tiling by one shape, a RAMB36E1 costing two RAMB18E1s (e.g.
    784 x 512 bits: 29 RAMB18E1 = 14.5 tiles, cheaper than 15 RAMB36E1; 4,096 x 5 bits: one
    RAMB36E1 as 4K x 9)."""

    def tiling(shapes: tuple[tuple[int, int], ...]) -> int:
        return min(math.ceil(words / w) * math.ceil(bits / b) for w, b in shapes)

    return min(tiling(RAMB18_SHAPES), 2 * tiling(RAMB36_SHAPES)) / 2


def store_in_bram(words: int, bits: int) -> bool:
    """Whether Yosys puts a ``words`` x ``bits`` memory read into a register (a line store, a
    FIFO's buffer) into block RAM rather than LUTRAM: from 128 words and over 2 kb. Every
    conv_window calibration point follows it (256 x 8, 128 x 3 and 64 x 192 bits stayed in
    LUTRAM, 128 x 48 went to block RAM), and so does ResNet-8 out of context: its first line
    store, 128 x 24 bits, and its skip-path FIFOs, about 1,100 x 8 bits, are a RAMB18E1 each."""
    return words >= 128 and words * bits > 2048


def dsp_multiplier(a_width: int, b_width: int) -> bool:
    """Whether synth_xilinx puts an ``a_width`` x ``b_width`` signed product into DSP48E1s: it does
    from a 9-bit product on (narrower ones become LUT logic), calibrated with :mod:`mapper.calibrate`."""
    return a_width + b_width >= 9


def multiplier_slices(a_width: int, b_width: int) -> int:
    """DSP48E1 slices of one mult_pipe product: one per 18 x 18 partial product (operands over 18
    bits are split into 17-bit limbs), none when synthesis builds it from LUTs."""
    if not dsp_multiplier(a_width, b_width):
        return 0
    limbs = lambda w: 1 if w <= 18 else 1 + math.ceil((w - 18) / 17)  # noqa: E731
    return limbs(a_width) * limbs(b_width)


@cache
def _calibration() -> dict[str, Any]:
    if not CALIBRATION_FILE.is_file():
        return {}
    return dict(json.loads(CALIBRATION_FILE.read_text()))


def reload() -> None:
    """Read the calibration file again (after ``make calibrate`` rewrote it)."""
    _calibration.cache_clear()


def coefficients(component: str) -> dict[str, dict[str, float]]:
    """resource -> term -> fitted coefficient of ``component`` (empty when it is not calibrated)."""
    return dict(_calibration().get("fit", {}).get(component, {}).get("coefficients", {}))


def estimate(component: str, terms: Terms, fit: dict[str, dict[str, float]] | None = None) -> Resources:
    """Resources of one instance: each LUT / FF term times its coefficient (``fit``, default the
    committed one for ``component``; 1 for a term it lacks), rounded up; DSP and BRAM as counted."""
    fit = coefficients(component) if fit is None else fit
    totals = {}
    for resource in FITTED:
        coef = fit.get(resource, {})
        values: dict[str, float] = getattr(terms, resource)
        totals[resource] = math.ceil(sum(coef.get(k, 1.0) * v for k, v in values.items()) - 1e-9)
    return Resources(lut=max(0, totals["lut"]), ff=max(0, totals["ff"]), dsp=terms.dsp, bram=terms.bram)
