"""Stimulus that keeps arithmetic inside the output range: most outputs unsaturated.

Full-range random inputs drive most outputs of a layer or a narrowing cast into saturation (87-94 %
of ``fixed_linear``'s in three sweep sets), where a bug in the rounding or the accumulator hides
behind the clamp. A bench's ``BenchSpec.draw`` draws groups whose exact result mostly lies inside
the output range instead:

- element-wise components know, lane by lane, the inputs whose result fits (:func:`preimage`),
  and draw from those (:func:`lanes_draw`);
- layers (linear, convolution) mix lanes, so :func:`amplitude_draw` draws inputs of decreasing
  amplitude until the bench's golden model, with a 32-bit output (its "wide twin"), puts enough
  lanes inside the real output's range.

:func:`saturated_fraction` measures the result (tests hold every arithmetic sweep set to it).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from golden.fixed import FixedType
from sim.verif.ports import Beat, BenchSpec, GroupModel, PortSpec

Group = dict[str, list[Beat]]
#: Per input port, per lane: the (low, high) raw range to draw from.
LaneRanges = Mapping[str, Sequence[tuple[int, int]]]


def preimage(frac: int, out: FixedType, lo: int, hi: int) -> tuple[int, int]:
    """Raw values with ``frac`` fraction bits, within ``[lo, hi]``, whose requantization to ``out``
    (round half up) lies inside ``out``'s range. Falls back to ``(0, 0)`` when none does."""
    s = frac - out.frac
    if s > 0:
        half = 1 << (s - 1)
        a, b = out.min_int * (1 << s) - half, out.max_int * (1 << s) + half - 1
    else:
        a, b = -((-out.min_int) >> -s), out.max_int >> -s
    a, b = max(a, lo), min(b, hi)
    return (a, b) if a <= b else (0, 0)


def scaled(lo: int, hi: int, shift: int) -> tuple[int, int]:
    """A range of values with ``f`` fraction bits expressed with ``f - shift`` (shift >= 0),
    rounded inwards."""
    return -((-lo) >> shift), hi >> shift


def pick(rng: random.Random, lo: int, hi: int, extremes: Sequence[int] = ()) -> int:
    """A value in ``[lo, hi]``: a quarter of the time one of ``extremes`` that lies there (range
    ends, rounding ties, thresholds), else uniform; 0 when the range is empty."""
    if lo > hi:
        return 0
    if extremes and rng.random() < 0.25:
        inner = [v for v in extremes if lo <= v <= hi]
        if inner:
            return rng.choice(inner)
    return rng.randint(lo, hi)


def lanes_draw(
    spec_inputs: Sequence[PortSpec],
    group_beats: Mapping[str, int],
    ranges: LaneRanges,
    extremes: Mapping[str, Sequence[int]] | None = None,
) -> Callable:
    """A ``BenchSpec.draw`` drawing every lane from its range (lane ``i`` of every beat uses
    ``ranges[port][i % len(ranges[port])]``, clipped to the port's type), a quarter of the time
    from the port's ``extremes`` that lie in it (:func:`pick`)."""

    def draw(rng: random.Random) -> Group:
        group: Group = {}
        for p in spec_inputs:
            lane_ranges = ranges[p.name]
            edges = (extremes or {}).get(p.name, ())
            beats = []
            for b in range(group_beats.get(p.name, 1)):
                beat = []
                for i in range(p.lanes):
                    lo, hi = lane_ranges[(b * p.lanes + i) % len(lane_ranges)]
                    beat.append(pick(rng, max(lo, p.lane_min), min(hi, p.lane_max), edges))
                beats.append(beat)
            group[p.name] = beats
        return group

    return draw


def inside(outputs: Mapping[str, Sequence[Beat]], ports: Sequence[PortSpec]) -> tuple[int, int]:
    """(lanes inside their port's range, all lanes) of a wide model's outputs."""
    ins = total = 0
    for p in ports:
        for beat in outputs[p.name]:
            for v in beat:
                total += 1
                ins += p.lane_min <= v <= p.lane_max
    return ins, total


def amplitude_draw(
    spec_inputs: Sequence[PortSpec],
    group_beats: Mapping[str, int],
    wide_model: GroupModel,
    outputs: Sequence[PortSpec],
    target: float = 0.85,
    tries: int = 16,
    extremes: Mapping[str, Sequence[int]] | None = None,
) -> Callable:
    """A ``BenchSpec.draw`` for layers: lanes of amplitude ``full >> level`` (a quarter from the
    port's ``extremes`` that lie within it), the level
    found by trying (the last good level, one above it now and then, lower ones when needed)
    until at least ``target`` of the output lanes, computed by ``wide_model`` (the bench's golden
    model with a 32-bit output), lie inside the real ``outputs``' ranges."""
    state = {"level": 0, "count": 0}
    deepest = max(p.width for p in spec_inputs)

    def group_at(rng: random.Random, level: int) -> Group:
        group: Group = {}
        for p in spec_inputs:
            hi = max(0, p.lane_max >> level) if p.lane_max > 0 else 0
            lo = -max(0, (-p.lane_min) >> level) if p.lane_min < 0 else 0
            edges = (extremes or {}).get(p.name, ())
            group[p.name] = [
                [pick(rng, lo, max(lo, hi), edges) for _ in range(p.lanes)] for _ in range(group_beats.get(p.name, 1))
            ]
        return group

    def draw(rng: random.Random) -> Group:
        state["count"] += 1
        start = state["level"] - 1 if state["count"] % 8 == 0 and state["level"] > 0 else state["level"]
        best: tuple[float, Group] | None = None
        for level in range(start, deepest + 1):
            for _ in range(tries if level == state["level"] else tries // 4):
                group = group_at(rng, level)
                ins, total = inside(wide_model(group), outputs)
                share = ins / total if total else 1.0
                if share >= target:
                    state["level"] = level
                    return group
                if best is None or share > best[0]:
                    best = (share, group)
        assert best is not None
        return best[1]

    return draw


def wide_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """A bench's parameters with a 32-bit signed output of the same fraction bits (its wide twin:
    the same arithmetic, saturating only where 32 bits end)."""
    out = dict(params)
    out["OUT_WIDTH"] = 32
    if "OUT_SIGNED" in out:
        out["OUT_SIGNED"] = 1
    return out


def saturated_fraction(spec: BenchSpec, wide: BenchSpec, stimulus: Mapping[str, Sequence[Beat]]) -> float:
    """Share of output lanes that saturate under ``stimulus``: the wide twin's exact result lies
    outside the real output's range."""
    counts = {
        p.name: len(beats) // spec.beats_per_group(p.name) for p, beats in ((q, stimulus[q.name]) for q in spec.inputs)
    }
    groups = min(counts.values())
    ins = total = 0
    for g in range(groups):
        group = {
            p.name: list(stimulus[p.name][g * spec.beats_per_group(p.name) : (g + 1) * spec.beats_per_group(p.name)])
            for p in spec.inputs
        }
        i, t = inside(wide.model(group), spec.outputs)
        ins, total = ins + i, total + t
    return 1.0 - ins / total if total else 0.0
