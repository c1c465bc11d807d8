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

from mapper import components
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


def fifo_depth(arrivals: list[int], departures: list[int], skid: bool = False) -> int:
    """Smallest stream_fifo depth that takes beat ``i`` offered at ``arrivals[i]`` and gives it up
    at ``departures[i]`` (beats in order) without changing either schedule.

    Without ``skid`` the FIFO must never refuse a beat: at each arrival it must hold fewer than
    DEPTH beats, counting those written before that cycle and not read before it (stream_fifo's
    ready looks only at its fill level, not at a read in the same cycle). With ``skid`` the
    producer's output is a skid_buffer (two beats, registered ready): a refused beat waits there
    and enters the FIFO later, which changes nothing as long as it is still offered by its
    departure and the producer never finds its skid_buffer full (:func:`_keeps_schedule`).
    """
    never_refuses, read = 1, 0
    for k, a in enumerate(arrivals):
        while read < len(departures) and departures[read] < a:
            read += 1
        never_refuses = max(never_refuses, k - read + 1)
    if not skid:
        return never_refuses
    low, high = 1, never_refuses  # the smallest depth that keeps the schedules: monotonic in depth
    while low < high:
        mid = (low + high) // 2
        if _keeps_schedule(arrivals, departures, mid):
            high = mid
        else:
            low = mid + 1
    return low


def _keeps_schedule(arrivals: list[int], departures: list[int], depth: int) -> bool:
    """Whether a ``depth``-beat stream_fifo behind a skid_buffer output keeps both schedules.

    Beat ``i`` enters the FIFO at ``w_i = max(a_i, w_{i-1} + 1, d_{i-depth} + 1)`` (the skid buffer
    offers one beat per cycle; the FIFO takes it once beat ``i - depth`` has left, the cycle after,
    as its ready is registered) and is offered the cycle after: it must be by ``d_i``. The producer
    pushes beat ``i`` into its skid buffer at ``a_i - 1``, which holds two beats: beat ``i - 2``
    must have entered the FIFO before then.
    """
    written: list[int] = []
    for i, a in enumerate(arrivals):
        w = max(a, written[-1] + 1) if written else a
        if i >= depth:
            w = max(w, departures[i - depth] + 1)
        if w + 1 > departures[i] or (i >= 2 and written[i - 2] > a - 2):
            return False
        written.append(w)
    return True
