"""``fixed_affine``: per-channel ``y = requant(x * scale + shift)`` (rtl/norm/), golden ``golden.norm.affine``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mapper.components.base import BenchTiming, Component, Mutant, random_constants, register
from sim.memimage import pack_lanes, write_memh


@register
class FixedAffine(Component):
    name = "fixed_affine"
    kind = "norm"
    summary = (
        "per-channel y = requant(x * scale + shift) (inference batch-norm, layer scale); CHANNELS/LANES "
        "beats per position, scales and shifts from $readmemh images"
    )
    depends = ("fixed_requant", "skid_buffer")
    bench = "sim.tb.test_fixed_affine"
    defaults = {
        "CHANNELS": 4,
        "LANES": 1,
        "IN_WIDTH": 8,
        "IN_FRAC": 4,
        "IN_SIGNED": 1,
        "S_WIDTH": 8,
        "S_FRAC": 6,
        "B_WIDTH": 8,
        "B_FRAC": 6,
        "OUT_WIDTH": 8,
        "OUT_FRAC": 4,
        "OUT_SIGNED": 1,
        "SCALE_FILE": "",
        "SHIFT_FILE": "",
    }
    sweeps = (
        # one lane, 3 channels cycling, narrow: drops 2 bits (ties on a quarter of the sums), shift
        # aligned by 3 bits, saturates most of the range
        {
            "CHANNELS": 3,
            "LANES": 1,
            "IN_WIDTH": 4,
            "IN_FRAC": 2,
            "S_WIDTH": 3,
            "S_FRAC": 1,
            "B_WIDTH": 3,
            "B_FRAC": 0,
            "OUT_WIDTH": 3,
            "OUT_FRAC": 1,
        },
        # 8 lanes, 2 beats per position, unsigned input (after ReLU), drops 6 bits
        {"CHANNELS": 16, "LANES": 8, "IN_SIGNED": 0, "B_FRAC": 4},
        # wide 16-bit formats, 3 beats per position, shift already at the product's fraction (no
        # alignment), unsigned output (negative results -> 0)
        {
            "CHANNELS": 12,
            "LANES": 4,
            "IN_WIDTH": 16,
            "IN_FRAC": 8,
            "S_WIDTH": 16,
            "S_FRAC": 12,
            "B_WIDTH": 16,
            "B_FRAC": 20,
            "OUT_WIDTH": 16,
            "OUT_FRAC": 8,
            "OUT_SIGNED": 0,
        },
    )
    timed_sweeps = (1,)
    mutants = (
        # every beat uses the previous beat's scales and shifts (channel index one beat late)
        Mutant("affine_stale_channel", "scale_mem[pos_next]", "scale_mem[pos]", caught_by=(("fixed_affine", 0),)),
        # lane i takes the scale of lane LANES-1-i
        Mutant(
            "affine_lanes_reversed",
            "scale_word[i*S_WIDTH+:S_WIDTH]",
            "scale_word[(LANES-1-i)*S_WIDTH+:S_WIDTH]",
            caught_by=(("fixed_affine", 1),),
        ),
    )

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One position (CHANNELS / LANES beats) per that many cycles, each beat 1 cycle through."""
        beats = params["CHANNELS"] // params["LANES"]
        return BenchTiming(interval=beats, latency=1, in_spacing=1, out_spacing=1, needs=1)

    def prepare(self, params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """Random per-channel scales and shifts written as fixed_affine memory images (word k holds
        channels k*LANES .. k*LANES + LANES-1, lane 0 in the low bits)."""
        channels, lanes = int(params["CHANNELS"]), int(params["LANES"])
        if lanes < 1 or channels % lanes:
            raise ValueError(f"LANES={lanes} must be >= 1 and divide CHANNELS={channels}")
        s_w, b_w = int(params["S_WIDTH"]), int(params["B_WIDTH"])
        rng = np.random.default_rng(seed)
        scale, shift = random_constants(rng, (channels,), s_w), random_constants(rng, (channels,), b_w)
        beats = range(channels // lanes)
        scale_words = [pack_lanes(scale[k * lanes : (k + 1) * lanes], s_w) for k in beats]
        shift_words = [pack_lanes(shift[k * lanes : (k + 1) * lanes], b_w) for k in beats]
        out = {
            **params,
            "SCALE_FILE": str(write_memh(folder / "scale.memh", scale_words, lanes * s_w)),
            "SHIFT_FILE": str(write_memh(folder / "shift.memh", shift_words, lanes * b_w)),
        }
        return out, {"scale": scale.tolist(), "shift": shift.tolist()}
