"""Stimulus of the component benches: corner groups, in-range groups and full-range groups.

A run of ``groups`` groups (:func:`make_stimulus`) is

1. corner groups first: every input lane at its minimum, at its maximum, alternating minimum and
   maximum across lanes (both phases), alternating across beats, and, with several input ports,
   one port at its minimum while the others are at their maximum (and the reverse);
2. then, when the bench supplies ``BenchSpec.draw`` (groups drawn so that the arithmetic mostly
   lands inside the output range, see :mod:`sim.verif.in_range`), three in-range groups for
   every full-range one; otherwise full-range groups only;
3. full-range groups: every lane uniform over its type, a quarter of the lanes from the bench's
   ``extremes`` (range ends, rounding ties, saturation thresholds).

Everything is drawn from one ``random.Random(seed)``, so a run is reproducible from its seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sim.verif.ports import Beat, BenchSpec, PortSpec

Group = dict[str, list[Beat]]


def random_beats(spec: PortSpec, count: int, rng: random.Random, extremes: list[int]) -> list[Beat]:
    """``count`` random beats; a quarter of the lanes take values from ``extremes``."""
    choices = [v for v in extremes if spec.lane_min <= v <= spec.lane_max]
    beats = []
    for _ in range(count):
        beat = []
        for _ in range(spec.lanes):
            if choices and rng.random() < 0.25:
                beat.append(rng.choice(choices))
            else:
                beat.append(rng.randint(spec.lane_min, spec.lane_max))
        beats.append(beat)
    return beats


def _pattern(port: PortSpec, beats: int, pick: Callable[[int, int], bool]) -> list[Beat]:
    """Beats whose lane (beat b, lane i) is the maximum when ``pick(b, i)``, else the minimum."""
    return [[port.lane_max if pick(b, i) else port.lane_min for i in range(port.lanes)] for b in range(beats)]


CORNERS: dict[str, Callable[[int, int], bool]] = {
    "all minimum": lambda b, i: False,
    "all maximum": lambda b, i: True,
    "lanes alternate, minimum first": lambda b, i: i % 2 == 1,
    "lanes alternate, maximum first": lambda b, i: i % 2 == 0,
    "beats alternate": lambda b, i: b % 2 == 1,
    "checkerboard": lambda b, i: (b + i) % 2 == 1,
}


def corner_groups(spec: BenchSpec) -> list[Group]:
    """The corner groups of a bench (see the module docstring), in a fixed order."""
    groups = [
        {p.name: _pattern(p, spec.beats_per_group(p.name), pick) for p in spec.inputs} for pick in CORNERS.values()
    ]
    if len(spec.inputs) > 1:
        for hi in range(len(spec.inputs)):
            groups.append(
                {
                    p.name: _pattern(p, spec.beats_per_group(p.name), (lambda b, i, up=(k == hi): up))
                    for k, p in enumerate(spec.inputs)
                }
            )
    return groups


def full_range_group(spec: BenchSpec, rng: random.Random) -> Group:
    """One group of uniform lanes, a quarter from the bench's extremes."""
    return {
        p.name: random_beats(p, spec.beats_per_group(p.name), rng, spec.extremes.get(p.name, [])) for p in spec.inputs
    }


def make_stimulus(spec: BenchSpec, seed: int, groups: int) -> dict[str, list[Beat]]:
    """Beats per input port for ``groups`` groups: corners, then in-range and full-range groups."""
    rng = random.Random(seed)
    plan: list[Group] = corner_groups(spec)[:groups]
    k = 0
    while len(plan) < groups:
        if spec.draw is not None and k % 4 != 3:
            plan.append(spec.draw(rng))
        else:
            plan.append(full_range_group(spec, rng))
        k += 1
    return {p.name: [beat for g in plan for beat in g[p.name]] for p in spec.inputs}
