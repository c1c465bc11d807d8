"""Beat schedules of a folded graph: the cycle every node offers each output beat.

A schedule follows one vector (inference) through the graph, its input beats offered one per
cycle from ``start``, the output always ready, every node's component model giving its output
beat times from its input beat times (``beat_times``) and when it takes its input beats
(``accept_times``). A node of several inputs takes beat ``i`` once every operand's beat ``i`` is
there (the element-wise maximum of its producers' times). A fork offers beat ``i`` to every
consumer at once and the next beat only after every consumer has taken this one, so its output
times follow its slowest consumer: ``o_i = max(t_i + 1, r_{i-1} + 1)`` with ``t_i + 1`` the beat
out of the fork's input register and ``r_i`` the latest consumer's accept time of beat ``i`` (a
fixed point, reached in a few rounds).

The model assumes every stream can hold what its producer offers before its consumer takes it,
which is what the FIFOs on reconvergent paths are sized for (:func:`fifo_depth`).
"""

from __future__ import annotations

from collections.abc import Sequence

from mapper import components
from mapper.components.base import Elastic
from mapper.graph import Graph


def _fork_offers(g: Graph, name: str, times: list[int]) -> list[int]:
    offered = list(times)
    for _ in range(len(times) + 1):
        taken = [
            components.get(g[c].component).accept_times(g[c], g[c].fold, offered) if not g[c].is_port else offered
            for c in g.consumers(name)
        ]
        latest = [max(ts) for ts in zip(*taken)]
        nxt = [times[0]] + [max(t, r + 1) for t, r in zip(times[1:], latest)]
        if nxt == offered:
            return offered
        offered = nxt
    raise AssertionError(f"fork {name}: the offer schedule did not settle")


def vector_schedule(g: Graph, start: int = 0) -> dict[str, list[int]]:
    """Node name -> cycles its output beats of one vector are offered (input beats from ``start``)."""
    times: dict[str, list[int]] = {}
    for node in g:
        if node.op == "input":
            times[node.name] = [start + i for i in range(node.cycles or 0)]
            continue
        operands = [times[p] for p in g.producers(node.name)]
        merged = [max(ts) for ts in zip(*operands)]
        if node.op == "output":
            times[node.name] = merged
        elif node.op == "fork":  # its input register, then the slowest consumer's pace
            registered = components.get(node.component).beat_times(node, node.fold, merged)
            times[node.name] = _fork_offers(g, node.name, registered)
        elif len(operands) > 1:  # the component says how it pairs its operands (a join by default)
            times[node.name] = components.get(node.component).operand_beat_times(node, node.fold, operands)
        else:
            times[node.name] = components.get(node.component).beat_times(node, node.fold, merged)
    return times


def join_times(g: Graph, schedule: dict[str, list[int]], name: str) -> list[int]:
    """Cycles node ``name`` takes each input beat: when every operand's beat has arrived."""
    return [max(ts) for ts in zip(*(schedule[p] for p in g.producers(name)))]


def take_times(g: Graph, schedule: dict[str, list[int]], name: str) -> list[list[int]]:
    """Per producer of node ``name`` (port order), the cycles it takes that operand's beats: its
    component's ``operand_accept_times`` (a join, :func:`join_times`, unless it says otherwise,
    as fixed_matmul does: its operands are not paired beat by beat)."""
    node = g[name]
    operands = [schedule[p] for p in g.producers(name)]
    return components.get(node.component).operand_accept_times(node, node.fold, operands)


#: A beat taken "never": before every cycle of a schedule.
_NEVER = -(10**9)


def _stage_flow(stage: Elastic, offered: list[int], taken_out: list[int]) -> tuple[list[int], list[int]]:
    """(cycles ``stage`` takes each input beat offered at ``offered``, cycles it offers each output
    beat) when its consumer takes output beat ``k`` at ``taken_out[k]`` (:data:`_NEVER`: not known
    to wait). Beat ``k`` enters the part holding ``capacity`` beats once beat ``k - capacity``
    left, before the cycle it enters."""
    kappa, lat = stage.capacity, stage.latency
    left = lambda k: taken_out[k] if k >= 0 else _NEVER  # noqa: E731
    entered: list[int] = []  # cycle each output beat enters the part that holds ``capacity``
    taken: list[int] = []
    if stage.gather > 1:
        for j, t in enumerate(offered):
            k, last = j // stage.gather, j % stage.gather == stage.gather - 1
            c = max(t, taken[-1] + 1 if taken else _NEVER, left(k - kappa) + 1 if last else _NEVER)
            taken.append(c)
            if last:
                entered.append(c)
    else:
        for k in range(len(offered) * stage.split):
            first = k % stage.split == 0
            c = max(offered[k // stage.split] if first else _NEVER, entered[-1] + 1 if entered else _NEVER)
            entered.append(max(c, left(k - kappa) + 1))
            if first:
                taken.append(entered[-1])
    out: list[int] = []
    for k, e in enumerate(entered):
        out.append(max(e + lat, left(k - 1) + 1))
    return taken, out


def chain_flow(offers: list[int], chain: Sequence[Elastic], takes: list[int]) -> tuple[list[int], list[int]]:
    """(cycles the first stage of ``chain`` takes each beat offered at ``offers``, cycles the last
    stage offers each beat) when the last stage's consumer takes beat ``i`` at ``takes[i]``.

    Every stage takes as early as its capacity allows, as the RTL does; the back-pressure one stage
    puts on the one before it follows from when its consumer takes its beats, so the stages are
    swept in turn until no take time changes (each value only rises, to the one solution)."""
    taken_out: list[list[int]] = []
    n = len(offers)
    for stage in chain:
        n = n * stage.split // stage.gather
        taken_out.append([_NEVER] * n)
    taken_out[-1] = list(takes)
    for _ in range(n * len(chain) + 2):
        beats, first, changed = offers, offers, False
        for s, stage in enumerate(chain):
            taken, beats = _stage_flow(stage, beats, taken_out[s])
            if s == 0:
                first = taken
            elif taken != taken_out[s - 1]:
                taken_out[s - 1], changed = taken, True
        if not changed:
            return first, beats
    raise AssertionError("the back-pressure of an elastic chain did not settle")


def fifo_depth(offers: list[int], takes: list[int], chain: Sequence[Elastic] = (), skid: bool = False) -> int:
    """Smallest stream_fifo depth that keeps both schedules: the producer with a schedule of its
    own (a compute node, fork or port) offers beat ``i`` at ``offers[i]``, ``chain`` (elastic
    stages, :class:`Elastic`: casts, ReLUs, lane adapters) carries it to the FIFO, and the FIFO's
    consumer takes it at ``takes[i]``. Neither may change: every beat must reach the FIFO's output
    by its take, and the producer must never be refused.

    stream_fifo takes a beat when it holds fewer than DEPTH (its ready looks only at its fill
    level, not at a read in the same cycle), so a full FIFO refuses, and the refused beats wait in
    the chain's registers. With ``skid`` the producer's output is a skid_buffer (two beats,
    registered ready): its component pushes beat ``i`` there at ``offers[i] - 1`` and stalls only
    if that buffer is full, so the buffer is the chain's first stage. Without (a fork, whose
    refused beat would hold up its other consumers, or a port) the chain must take every beat when
    offered. The depth is found by bisection (keeping the schedules is monotonic in the depth)
    below the depth at which the FIFO never refuses a beat, which keeps them trivially.
    """
    if skid:
        chain, offers = [Elastic(2, 1), *chain], [t - 1 for t in offers]
    arrivals = chain_flow(offers, chain, [_NEVER] * len(takes))[1] if chain else offers
    never_refuses, read = 1, 0
    for k, a in enumerate(arrivals):
        while read < len(takes) and takes[read] < a:
            read += 1
        never_refuses = max(never_refuses, k - read + 1)
    low, high = 1, never_refuses
    while low < high:
        mid = (low + high) // 2
        taken, offered = chain_flow(offers, [*chain, Elastic(mid, 1)], takes)
        if taken == offers and all(o <= t for o, t in zip(offered, takes)):
            high = mid
        else:
            low = mid + 1
    return low
