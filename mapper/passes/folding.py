"""Passes that turn a consistent graph into hardware: parallelism, plumbing and predictions.

``fold``: every node gets a :class:`~mapper.graph.Fold` (lanes per beat in and out). Given a target
initiation interval ``T`` (cycles per inference) the folds are chosen by dynamic programming along
the chain so that every node's cycles per vector (component model) are ``<= T``, with ``T``
raised to what the slowest node can reach at best (:func:`reachable_cycles`), and the summed
resource cost (FIFOs and lane adapters included) is minimal: each node gets the cheapest fold that
keeps up with ``T``, which balances the pipeline.

``insert_plumbing``: neighbours whose lane counts differ are joined by a ``resize`` node
(stream_resize; one lane count must divide the other). A node whose component asks for an input
buffer gets a ``fifo`` node in front of it (not right after the input port, whose producer holds
its beats anyway): fixed_linear only accepts input during its first output group, so a FIFO lets
the producer go on while the later groups replay the stored vector. Folding costs it at
``max(2, beats)`` (one whole input vector, the upper bound); it is then sized from the beat
schedule (:func:`sized_fifo_depth`), like the FIFOs on the early branch of a join. A chain of
ready/valid stages cannot deadlock, so the depth is chosen for rate, not for liveness.

``annotate``: RTL parameters, cycles and resources of every node; the pipeline's initiation
interval (the largest node cycles), its latency (one vector's beat times through every node's
``beat_times`` model, the input delivering one beat per cycle and the output always ready), the
bottleneck and the summed resources (``graph.info``).
"""

from __future__ import annotations

import math

from mapper import components
from mapper.components.base import Elastic, divisors, elements
from mapper.errors import MappingError
from mapper.graph import INPUT, OUTPUT, Fold, Graph, Node, Resources
from mapper.passes import schedule
from mapper.passes.base import FlowContext, flow_pass
from quant.config import LayerFormats


def target_cycles(throughput: float | None = None, cycles: int | None = None) -> int:
    """Target initiation interval from ``throughput`` (inferences per cycle, 0 < t <= 1) or
    ``cycles`` (cycles per inference, >= 1); exactly one must be given."""
    if (throughput is None) == (cycles is None):
        raise ValueError("give exactly one of throughput (inferences per cycle) or cycles (per inference)")
    if throughput is not None:
        if not 0.0 < throughput <= 1.0:
            raise ValueError(f"throughput must be in (0, 1] inferences per cycle, got {throughput}")
        return max(1, math.ceil(1.0 / throughput - 1e-9))
    assert cycles is not None
    if cycles < 1:
        raise ValueError(f"cycles per inference must be >= 1, got {cycles}")
    return int(cycles)


def _port_folds(n_elements: int, target: int) -> list[Fold]:
    """Lane choices of an input or output port: one beat per cycle, at most ``target`` beats."""
    return [Fold(d, d) for d in divisors(n_elements) if n_elements // d <= target]


def _input_stream(node: Node, name: str, op: str, **attrs: object) -> Node:
    """A plumbing node on the input stream of ``node`` (its input shape and format)."""
    assert node.formats is not None
    t = node.formats.data_in
    return Node(name, op, node.in_shape, node.in_shape, LayerFormats(t, None, None, t), attrs=dict(attrs))


def fifo_depth(node: Node, fold: Fold) -> int:
    """Depth of the FIFO ``node`` wants in front of it (0: none; else at least 2 for full rate)."""
    beats = components.get(node.component).input_buffer(node, fold)
    return max(2, beats) if beats else 0


def _join_cost(prev: Fold, nxt: Fold, node: Node) -> float | None:
    """Cost of joining ``prev``'s output lanes to ``node``'s input lanes ``nxt`` (None: impossible)."""
    a, b = prev.out_lanes, nxt.in_lanes
    if a == b:
        return 0.0
    if a % b and b % a:
        return None
    fold = Fold(a, b)
    return components.get("stream_resize").resources(_input_stream(node, "resize", "resize"), fold).cost()


def _options(node: Node, target: int, first: bool) -> list[tuple[Fold, float]]:
    """Folds of a node meeting ``target`` (else its fastest ones), with their cost, the FIFO in
    front included unless the node is ``first`` (right after the input port)."""
    if node.is_port:
        return [(f, 0.0) for f in _port_folds(elements(node.out_shape), target)]
    comp = components.get(node.component)
    folds = comp.folds(node)
    fast = [f for f in folds if comp.cycles(node, f) <= target]
    if not fast:  # the target is out of reach: take the fastest folds
        best = min(comp.cycles(node, f) for f in folds)
        fast = [f for f in folds if comp.cycles(node, f) == best]
    out = []
    for f in fast:
        cost = comp.resources(node, f).cost()
        depth = fifo_depth(node, f) if not first else 0
        if depth:
            lanes = Fold(f.in_lanes, f.in_lanes)
            fifo = _input_stream(node, "fifo", "fifo", depth=depth)
            cost += components.get("stream_fifo").resources(fifo, lanes).cost()
        out.append((f, cost))
    return out


def choose_folds(g: Graph, target: int) -> dict[str, Fold]:
    """Cheapest fold per node with every node's cycles per vector ``<= target`` (module docstring):
    exact by dynamic programming along a chain; on a graph with branches, coordinate descent."""
    return _chain_folds(g, target) if g.is_chain() else _branch_folds(g, target)


def _chain_folds(g: Graph, target: int) -> dict[str, Fold]:
    names = g.names()
    # table[i][fold] = (total cost up to node i, fold of node i-1)
    table: list[dict[Fold, tuple[float, Fold | None]]] = []
    for i, name in enumerate(names):
        node = g[name]
        row: dict[Fold, tuple[float, Fold | None]] = {}
        joins: dict[tuple[int, int], float | None] = {}  # (out lanes, in lanes) -> cost
        for fold, cost in _options(node, target, i == 1):
            if i == 0:
                row[fold] = (cost, None)
                continue
            best: tuple[float, Fold | None] | None = None
            for prev, (prev_cost, _) in table[-1].items():
                key = (prev.out_lanes, fold.in_lanes)
                if key not in joins:
                    joins[key] = _join_cost(prev, fold, node)
                join = joins[key]
                if join is None:
                    continue
                total = prev_cost + join + cost
                if best is None or total < best[0]:
                    best = (total, prev)
            if best is not None:
                row[fold] = best
        if not row:
            raise MappingError(
                f"node {name!r}: no parallelism fits both its neighbours and the target of {target} cycles"
            )
        table.append(row)
    folds: dict[str, Fold] = {}
    fold = min(table[-1], key=lambda f: table[-1][f][0])
    for i in range(len(names) - 1, -1, -1):
        folds[names[i]] = fold
        prev = table[i][fold][1]
        if prev is not None:
            fold = prev
    return folds


def _branch_folds(g: Graph, target: int) -> dict[str, Fold]:
    """Folds of a graph with forks and joins: every node in topological order takes its cheapest
    option given its producers' folds (own cost plus lane adapters), then rounds of coordinate
    descent let each node change its fold against all its neighbours until none does."""
    names = g.names()
    options = {n: _options(g[n], target, INPUT in g.producers(n)) for n in names}
    infinite = float("inf")

    def join(u: str, fu: Fold, v: str, fv: Fold) -> float:
        cost = _join_cost(fu, fv, g[v])
        return infinite if cost is None else cost

    def total(n: str, f: Fold, cost: float) -> float:
        return (
            cost
            + sum(join(p, folds[p], n, f) for p in g.producers(n) if p in folds)
            + sum(join(n, f, c, folds[c]) for c in g.consumers(n) if c in folds)
        )

    folds: dict[str, Fold] = {}
    for n in names:  # greedy start: producers are already chosen
        folds[n] = min(options[n], key=lambda o: total(n, *o))[0]
    for _ in range(10):
        changed = False
        for n in names:
            best = min(options[n], key=lambda o: total(n, *o))[0]
            if total(n, best, dict(options[n])[best]) < total(n, folds[n], dict(options[n])[folds[n]]):
                folds[n], changed = best, True
        if not changed:
            break
    for u, v, _ in g.edges():
        if _join_cost(folds[u], folds[v], g[v]) is None:
            raise MappingError(
                f"node {v!r}: its {folds[v].in_lanes} input lanes cannot be joined to {u!r}'s "
                f"{folds[u].out_lanes} output lanes (neither divides the other)"
            )
    return folds


def reachable_cycles(g: Graph) -> int:
    """The smallest initiation interval the chain can reach: the largest over its nodes of their
    fastest fold's cycles per vector (1 for MLPs; a convolution's output pixels, for example,
    leave one window of steps apart at best)."""
    return max([1, *(min(_fold_cycles(node)) for node in g.operations())])


def plan_dsp(g: Graph, folds: dict[str, Fold]) -> int:
    """Estimated DSP48E1s of the compute nodes of ``g`` at ``folds``."""
    return sum(components.get(g[n].component).resources(g[n], f).dsp for n, f in folds.items() if not g[n].is_port)


def _fold_cycles(node: Node) -> list[int]:
    """Cycles per vector of every fold of compute node ``node``."""
    comp = components.get(node.component)
    return [comp.cycles(node, f) for f in comp.folds(node)]


def folds_within_dsp(g: Graph, target: int, max_dsp: int) -> dict[str, Fold]:
    """The plan for ``target`` cycles per inference, or, when it needs more than ``max_dsp``
    estimated DSPs, the plan of the smallest slower target that fits (targets tried: the cycles of
    the nodes' folds, by bisection, since a slower target never needs more multipliers)."""
    folds = choose_folds(g, target)
    if plan_dsp(g, folds) <= max_dsp:
        return folds
    slower = sorted({c for n in g.operations() for c in _fold_cycles(n) if c > target})
    lo, hi, best = 0, len(slower) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        plan = choose_folds(g, slower[mid])
        if plan_dsp(g, plan) <= max_dsp:
            best, hi = plan, mid - 1
        else:
            lo = mid + 1
    if best is None:
        slowest = slower[-1] if slower else target
        need = plan_dsp(g, choose_folds(g, slowest))
        raise MappingError(
            f"no folding fits --max-dsp {max_dsp}: the slowest plan ({slowest} cycles per inference) needs {need} DSPs"
        )
    return best


@flow_pass("fold")
def fold(g: Graph, ctx: FlowContext) -> Graph:
    """Set every node's fold for ``ctx.target_cycles`` (see the module docstring), within
    ``ctx.max_dsp`` estimated DSPs when a budget is given."""
    target = target_cycles(cycles=ctx.target_cycles)
    g.info.target_cycles = target
    reachable = max(target, reachable_cycles(g))
    folds = choose_folds(g, reachable) if ctx.max_dsp is None else folds_within_dsp(g, reachable, ctx.max_dsp)
    for name, f in folds.items():
        g[name].fold = f
    return g


@flow_pass("insert_plumbing")
def insert_plumbing(g: Graph, ctx: FlowContext) -> Graph:
    """Lane adapters between neighbours with different lanes, FIFOs where a node asks for one."""
    for u, v, port in g.edges():
        src, dst = g[u], g[v]
        a, b = src.fold.out_lanes, dst.fold.in_lanes
        suffix = v if port == 0 else f"{v}_port{port}"  # a node of several inputs: one name per port
        if a != b:
            resize = src.stream_like(f"resize_{suffix}", "resize")
            resize.fold, resize.component = Fold(a, b), "stream_resize"
            g.splice(u, v, resize)
            u = resize.name
        # the input port's producer (the environment) holds its beats anyway: no FIFO after it
        depth = fifo_depth(dst, dst.fold) if src.op != "input" and not dst.is_port else 0
        if depth:
            fifo = g[u].stream_like(f"fifo_{suffix}", "fifo", depth=depth)
            fifo.fold, fifo.component = Fold(b, b), "stream_fifo"
            g.splice(u, v, fifo)
    _insert_input_slice(g)
    _insert_branch_fifos(g)
    _size_replay_fifos(g)
    return g


def _insert_input_slice(g: Graph) -> None:
    """A register slice (skid_buffer, op ``slice``) right behind the input port: the port's valid
    would otherwise reach the first node's step logic, counters and weight addresses in the same
    cycle as it leaves the flip-flop that drives it outside the accelerator, and data_in_ready
    would be logic, not a flip-flop. Every port of the top is then registered. One cycle of
    latency; it holds two beats."""
    (first,) = g.consumers(INPUT)
    lanes = g[INPUT].fold.out_lanes
    slice_node = g[INPUT].stream_like("slice_in", "slice")
    slice_node.fold, slice_node.component = Fold(lanes, lanes), "skid_buffer"
    g.splice(INPUT, first, slice_node)


def _elastic(g: Graph, name: str) -> Elastic | None:
    """Node ``name`` as an elastic stage (:meth:`Component.elastic`), or None: a port, a node of
    several inputs, or a component whose schedule changes when it stalls."""
    node = g[name]
    if node.is_port or len(g.producers(name)) != 1:
        return None
    return components.get(node.component).elastic(node, node.fold)


def pacing_chain(g: Graph, fifo: str) -> tuple[str, list[Elastic]]:
    """The node that paces FIFO node ``fifo`` (the nearest producer that is not elastic) and the
    elastic stages between them, in stream order."""
    chain, head = [], g.producer(fifo)
    while (stage := _elastic(g, head)) is not None:
        chain.insert(0, stage)
        head = g.producer(head)
    return head, chain


def sized_fifo_depth(g: Graph, fifo: str, runs: list[dict[str, list[int]]], departures: list[int]) -> int:
    """Depth of FIFO node ``fifo`` from the beat schedules ``runs`` (:func:`_steady_runs`) and the
    cycles its consumer takes each beat (:func:`schedule.fifo_depth`). Refused beats wait in the
    elastic stages between the FIFO and the nearest node whose schedule a stall would change (the
    casts, ReLUs and lane adapters in front of it: :meth:`Component.elastic`), and in that node's
    output skid_buffer when its component has one (``output_skid``; a fork has not: a beat one
    consumer refuses holds up the others)."""
    head, chain = pacing_chain(g, fifo)
    src = g[head]
    skid = not src.is_port and components.get(src.component).output_skid
    offers = [t for run in runs for t in run[head]]
    return schedule.fifo_depth(offers, departures, chain, skid)


def _size_replay_fifos(g: Graph) -> None:
    """Size every FIFO a node asked for (``input_buffer``: a linear that replays its stored vector
    for its later output groups) from the beat schedule of consecutive inferences, one every
    initiation interval, as the branch FIFOs are: the producer offers its beats as the schedule
    says, the consumer takes them as its model says with its state carried from one inference to
    the next (a vector's first step waits for the previous vector's replay), and the depth is the
    smallest that keeps both schedules (:func:`sized_fifo_depth`). ``input_buffer`` is the upper
    bound (one whole input vector); fewer suffice where the producer is slower than one beat per
    cycle or the registers in front of the FIFO hold refused beats."""
    fifos = [n.name for n in g if n.op == "fifo" and not n.attrs.get("branch")]
    if not fifos:
        return
    runs = _steady_runs(g)
    for f in fifos:
        node = g[g.consumers(f)[0]]
        takes = components.get(node.component).accept_times(node, node.fold, [t for run in runs for t in run[f]])
        g[f].attrs["depth"] = sized_fifo_depth(g, f, runs, takes)


def _set_cycles(g: Graph) -> int:
    """Every node's cycles per vector (ports: beats); returns the pipeline's initiation interval."""
    for node in g:
        comp = None if node.is_port else components.get(node.component)
        node.cycles = elements(node.out_shape) // node.fold.out_lanes if comp is None else comp.cycles(node, node.fold)
    return max(n.cycles for n in g)


def _steady_runs(g: Graph) -> list[dict[str, list[int]]]:
    """Beat schedules of enough consecutive inferences, one every initiation interval, to cover
    the pipeline's latency (the FIFO sizings compare offers and takes across them)."""
    ii = _set_cycles(g)
    first = schedule.vector_schedule(g, 0)
    return [first] + [schedule.vector_schedule(g, k * ii) for k in range(1, first[OUTPUT][-1] // ii + 3)]


def _insert_branch_fifos(g: Graph) -> None:
    """A FIFO on every input of a join whose beats would wait for the other operand: the early
    branch of a reconvergent path (a residual's skip path) must hold what its fork passed on while
    the other branch (say a convolution filling its line store) has not produced the matching
    beats yet, or the fork stalls both branches and the pipeline slows down or deadlocks.

    Beat times come from the schedule (:mod:`mapper.passes.schedule`) of enough consecutive
    inferences, one every initiation interval, to cover the pipeline's latency; the depth is the
    smallest that keeps both schedules (:func:`sized_fifo_depth`). Inserting a FIFO delays its
    branch by a cycle, so the analysis runs again until every waiting input has one.
    """
    joins = [n.name for n in g if len(g.producers(n.name)) > 1]
    if not joins:
        return
    for _ in range(len(g)):
        runs = _steady_runs(g)
        pending = []
        for j in joins:
            port_takes = [schedule.take_times(g, run, j) for run in runs]
            for port, p in enumerate(g.producers(j)):
                if g[p].op == "fifo" and g[p].attrs.get("branch"):
                    continue
                takes = [t for run in port_takes for t in run[port]]
                offers = [t for run in runs for t in run[p]]
                if any(d > a for a, d in zip(offers, takes)):
                    pending.append((p, j))
        if not pending:
            return
        for p, j in pending:
            fifo = g[p].stream_like(f"fifo_{j}_{g.port(p, j)}", "fifo", depth=2, branch=True)
            fifo.fold, fifo.component = Fold(g[p].fold.out_lanes, g[p].fold.out_lanes), "stream_fifo"
            g.splice(p, j, fifo)
        _size_branch_fifos(g, joins)


def _size_branch_fifos(g: Graph, joins: list[str]) -> None:
    runs = _steady_runs(g)
    for j in joins:
        port_takes = [schedule.take_times(g, run, j) for run in runs]
        for port, f in enumerate(g.producers(j)):
            takes = [t for run in port_takes for t in run[port]]
            if g[f].op == "fifo" and g[f].attrs.get("branch"):
                g[f].attrs["depth"] = sized_fifo_depth(g, f, runs, takes)


def predict_latency(g: Graph) -> int:
    """Cycles from the first input beat to the last output beat of one vector (empty pipeline)."""
    return schedule.vector_schedule(g, 0)[OUTPUT][-1]


@flow_pass("annotate")
def annotate(g: Graph, ctx: FlowContext) -> Graph:
    """Parameters, cycles and resources of every node, and the pipeline's predictions."""
    total = Resources()
    for node in g:
        if node.is_port:
            node.cycles = elements(node.out_shape) // node.fold.out_lanes
            node.resources = Resources()
            continue
        comp = components.get(node.component)
        node.params = comp.parameters(node, node.fold)
        node.cycles = comp.cycles(node, node.fold)
        node.resources = comp.resources(node, node.fold)
        total = total + node.resources
    bottleneck = max((g[n] for n in g.nx.nodes), key=lambda n: n.cycles)  # ties: the first inserted
    g.info.predicted_cycles = int(bottleneck.cycles)
    g.info.bottleneck = bottleneck.name
    g.info.predicted_latency = predict_latency(g)
    g.info.resources = total
    return g
