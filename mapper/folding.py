"""Parallelism choice (folding), FIFO sizing and the timing predictions of a mapped pipeline.

Every node of a captured chain (:mod:`mapper.capture`) gets a :class:`~mapper.registry.Fold`: lanes
per beat on its input and output streams. Given a target initiation interval ``T`` (cycles per
inference), :func:`plan` picks the folds by dynamic programming along the chain so that

* every node's cycles per vector (registry cost model) are ``<= T``, where ``T`` is the target
  raised to what the slowest node can reach at best (:func:`reachable_cycles`), so that no other
  node is given parallelism beyond the pipeline's real rate;
* the summed resource cost (registry estimate, :meth:`Resources.cost`, FIFOs and lane adapters
  included) is minimal. Each node therefore gets the cheapest fold that still keeps up with ``T``,
  which balances the pipeline: no layer is given more parallelism than the rate needs.

Neighbouring nodes whose lane counts differ are joined by a ``resize`` node (``stream_resize``,
when it exists in the library and one lane count divides the other; otherwise such pairs are not
allowed). A node whose registry entry asks for an input buffer gets a ``fifo`` node in front of it
(except right after the input port, whose producer holds its beats anyway),
``max(2, beats)`` deep: ``fixed_linear`` only accepts input during its first output group, so a FIFO
that holds one whole input vector lets the producer go on while the later groups replay the
stored vector. A chain of ready/valid stages cannot deadlock (every stage eventually drains into
the next), so the depth is chosen for rate, not for liveness.

Predictions: the pipeline's initiation interval is the largest per-node cycles per vector; the
latency follows one vector's beat times through every node's ``beat_times`` model, with the input
delivering one beat per cycle and the output always ready.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx

from mapper.capture import INPUT, OUTPUT, chain
from mapper.registry import REGISTRY, Fold, MappingError, Resources, divisors, elements, entry_for


@dataclass(frozen=True)
class Plan:
    """A folded hardware pipeline.

    Attributes:
        graph: the hardware graph: the captured nodes plus inserted ``fifo`` / ``resize`` nodes,
            each with ``fold``, ``component``, ``params``, ``cycles`` and ``resources``; its edges
            are streams.
        target_cycles: the requested initiation interval (cycles per inference).
        predicted_cycles: the pipeline's initiation interval (max node cycles per vector).
        predicted_latency: cycles from the first input beat of an inference to its last output
            beat, in an empty pipeline.
        bottleneck: the node with the largest cycles per vector.
        resources: summed estimate of every node.
    """

    graph: nx.DiGraph
    target_cycles: int
    predicted_cycles: int
    predicted_latency: int
    bottleneck: str
    resources: Resources


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
    ok = [d for d in divisors(n_elements) if n_elements // d <= target]
    return [Fold(d, d) for d in ok]


def _resize_allowed() -> bool:
    from sim import catalogue  # noqa: PLC0415

    return "stream_resize" in catalogue.COMPONENTS


def _plumbing_node(name: str, op: str, like: dict, fold: Fold, **extra: object) -> dict:
    """A fifo / resize node carrying the stream of node ``like`` (its output shape and format)."""
    from sw_frontend.quant.config import LayerFormats  # noqa: PLC0415

    t = like["formats"].data_out
    node = {
        "name": name,
        "op": op,
        "target": "",
        "module": "",
        "folded": [],
        "in_shape": like["out_shape"],
        "out_shape": like["out_shape"],
        "formats": LayerFormats(t, None, None, t),
        "weight": None,
        "bias": None,
        "fold": fold,
    }
    node.update(extra)
    return node


def _fifo_depth(node: dict, fold: Fold) -> int:
    """Depth of the FIFO the node wants in front of it (0: none; else at least 2 for full rate)."""
    entry = entry_for(node["op"], node["name"])
    beats = entry.input_buffer(node, fold)
    return max(2, beats) if beats else 0


def _stream_node(node: dict, lanes: Fold, op: str, **extra: object) -> dict:
    """A plumbing node on the input stream of ``node`` (its input shape and format)."""
    from sw_frontend.quant.config import LayerFormats  # noqa: PLC0415

    t = node["formats"].data_in
    like = {"out_shape": node["in_shape"], "formats": LayerFormats(t, None, None, t)}
    return _plumbing_node(f"{op}_{node['name']}", op, like, lanes, **extra)


def _transition(prev: Fold, nxt: Fold, node: dict, resize_ok: bool) -> float | None:
    """Cost of joining ``prev``'s output lanes to ``node``'s input lanes ``nxt`` (None: impossible)."""
    a, b = prev.out_lanes, nxt.in_lanes
    if a == b:
        return 0.0
    if not resize_ok or (a % b and b % a):
        return None
    fold = Fold(a, b)
    return REGISTRY["stream_resize"].resources(_stream_node(node, fold, "resize"), fold).cost()


def _options(node: dict, target: int, first: bool) -> list[tuple[Fold, float]]:
    """Folds of a node meeting ``target`` (else its fastest ones), with their cost, the FIFO in
    front included unless the node is ``first`` (right after the input port)."""
    if node["op"] in ("input", "output"):
        return [(f, 0.0) for f in _port_folds(math.prod(node["out_shape"]), target)]
    entry = entry_for(node["op"], node["name"])
    folds = entry.folds(node)
    fast = [f for f in folds if entry.cycles(node, f) <= target]
    if not fast:  # the target is out of reach: take the fastest folds
        best = min(entry.cycles(node, f) for f in folds)
        fast = [f for f in folds if entry.cycles(node, f) == best]
    out = []
    for f in fast:
        cost = entry.resources(node, f).cost()
        depth = _fifo_depth(node, f) if not first else 0
        if depth:
            lanes = Fold(f.in_lanes, f.in_lanes)
            cost += REGISTRY["stream_fifo"].resources(_stream_node(node, lanes, "fifo", depth=depth), lanes).cost()
        out.append((f, cost))
    return out


def choose_folds(g: nx.DiGraph, target: int) -> dict[str, Fold]:
    """Cheapest fold per node with every node's cycles per vector ``<= target`` (see module doc)."""
    names = chain(g)
    resize_ok = _resize_allowed()
    # best[fold] = (total cost up to this node, fold of the previous node)
    table: list[dict[Fold, tuple[float, Fold | None]]] = []
    for i, name in enumerate(names):
        node = g.nodes[name]
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
                    joins[key] = _transition(prev, fold, node, resize_ok)
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


def build_hardware(g: nx.DiGraph, folds: dict[str, Fold]) -> nx.DiGraph:
    """The hardware graph: captured nodes with their folds, plus resize and FIFO nodes."""
    h = nx.DiGraph()
    names = chain(g)
    for name in names:
        h.add_node(name, **dict(g.nodes[name]), fold=folds[name])
    for u, v in zip(names, names[1:]):
        src = u
        a, b = folds[u].out_lanes, folds[v].in_lanes
        if a != b:
            rname = f"resize_{v}"
            h.add_node(rname, **_plumbing_node(rname, "resize", g.nodes[u], Fold(a, b)))
            h.add_edge(src, rname)
            src = rname
        # the input port's producer (the environment) holds its beats anyway: no FIFO after it
        depth = _fifo_depth(g.nodes[v], folds[v]) if u != INPUT and v != OUTPUT else 0
        if depth:
            fname = f"fifo_{v}"
            h.add_node(fname, **_plumbing_node(fname, "fifo", g.nodes[u], Fold(b, b), depth=depth))
            h.add_edge(src, fname)
            src = fname
        h.add_edge(src, v)
    for name in h.nodes:
        node = h.nodes[name]
        fold = node["fold"]
        if node["op"] in ("input", "output"):
            node["cycles"] = elements(node["out_shape"]) // fold.out_lanes
            node["resources"] = Resources()
            continue
        entry = entry_for(node["op"], name)
        node["component"] = entry.name
        node["params"] = entry.parameters(node, fold)
        node["cycles"] = entry.cycles(node, fold)
        node["resources"] = entry.resources(node, fold)
    return h


def predict_latency(h: nx.DiGraph) -> int:
    """Cycles from the first input beat to the last output beat of one vector (empty pipeline)."""
    times: list[int] = []
    for name in chain(h):
        node = h.nodes[name]
        if node["op"] == "input":
            times = list(range(node["cycles"]))  # the source offers one beat per cycle
        elif node["op"] != "output":
            times = entry_for(node["op"], name).beat_times(node, node["fold"], times)
    return times[-1]


def reachable_cycles(g: nx.DiGraph) -> int:
    """The smallest initiation interval the chain can reach: the largest over its nodes of their
    fastest fold's cycles per vector (1 for MLPs; a convolution's output pixels, for example,
    leave one window of steps apart at best)."""
    best = 1
    for name in chain(g):
        node = g.nodes[name]
        if node["op"] not in ("input", "output"):
            entry = entry_for(node["op"], name)
            best = max(best, min(entry.cycles(node, f) for f in entry.folds(node)))
    return best


def plan(g: nx.DiGraph, target: int) -> Plan:
    """Fold the captured chain ``g`` for a target initiation interval of ``target`` cycles."""
    if target < 1:
        raise ValueError(f"target cycles per inference must be >= 1, got {target}")
    h = build_hardware(g, choose_folds(g, max(target, reachable_cycles(g))))
    bottleneck = max(h.nodes, key=lambda n: h.nodes[n]["cycles"])
    total = Resources()
    for n in h.nodes:
        total = total + h.nodes[n]["resources"]
    return Plan(
        graph=h,
        target_cycles=target,
        predicted_cycles=int(h.nodes[bottleneck]["cycles"]),
        predicted_latency=predict_latency(h),
        bottleneck=bottleneck,
        resources=total,
    )
