"""Passes that make a captured graph consistent: components, number formats, casts, forks, topology."""

from __future__ import annotations

from golden.components import add_format
from golden.fixed import FixedType
from mapper import components
from mapper.errors import MappingError
from mapper.graph import INPUT, OUTPUT, Graph, Node
from mapper.passes.base import FlowContext, flow_pass
from quant.config import LayerFormats


@flow_pass("assign")
def assign(g: Graph, ctx: FlowContext) -> Graph:
    """Give every operation node its library component; raise naming any unsupported one."""
    for node in g.operations():
        node.component = components.for_op(node.op, node.name).name
    return g


#: Operations that read several streams (one input port each); every other one reads one.
MULTI_INPUT_OPS = {"add": 2, "matmul": 2}
#: Widest exact sum a float32 add of the quantized model computes without rounding (its significand).
FLOAT32_EXACT_BITS = 24


@flow_pass("resolve_formats")
def resolve_formats(g: Graph, ctx: FlowContext) -> Graph:
    """Formats of the ports, of float ReLUs (their producer's) and of adds.

    An add of the quantized model is a float add of two fixed-point values, which is exact as long
    as the sum fits float32's significand: its operands keep their formats (an unsigned one gains
    a sign bit: fixed_add takes signed operands, the cast the next pass inserts is exact) and its
    output is the exact sum (``golden.components.add_format``); the consumer's own quantization
    then becomes a cast.
    """
    first = g[g.consumers(INPUT)[0]]
    if first.formats is None:
        raise MappingError(
            f"node {first.name!r} right after the input has no number format; the first layer must be quantized"
        )
    fmt = first.formats.data_in
    g[INPUT].formats = LayerFormats(fmt, None, None, fmt)
    for node in g:
        if node.formats is not None:
            continue
        sources = [g[p].formats.data_out for p in g.producers(node.name)]
        if node.op == "add":
            node.formats = _add_formats(node, sources)
        else:
            node.formats = LayerFormats(sources[0], None, None, sources[0])
    return g


def _add_formats(node: Node, sources: list[FixedType]) -> LayerFormats:
    operands = [t if t.signed else FixedType(t.width + 1, t.frac) for t in sources]
    try:
        out = add_format(*operands)
    except ValueError:
        out = None
    if out is None or out.width > FLOAT32_EXACT_BITS:
        raise MappingError(
            f"node {node.name!r}: the exact sum of {sources[0]} and {sources[1]} needs more than "
            f"{FLOAT32_EXACT_BITS} bits, which the quantized model's float32 add would round; "
            "narrow the formats of the two operands"
        )
    node.attrs["operands"] = operands
    return LayerFormats(operands[0], None, None, out)


@flow_pass("insert_casts")
def insert_casts(g: Graph, ctx: FlowContext) -> Graph:
    """A ``cast`` node (fixed_cast) on every stream whose producer's output format is not the format
    its consumer's input port takes. The quantized modules quantize their float input with
    ``float_to_fixed``, which on a value exact in the producer's format is ``golden.components.cast``."""
    cast = components.for_op("cast", "cast")
    for u, v, port in g.edges():
        if v == OUTPUT:
            continue
        out_t, in_t = g[u].formats.data_out, g[v].input_format(port)
        if out_t == in_t:
            continue
        node = Node(
            name=f"cast_{v}" if port == 0 else f"cast_{v}_{port}",
            op="cast",
            in_shape=g[u].out_shape,
            out_shape=g[u].out_shape,
            formats=LayerFormats(out_t, None, None, in_t),
            module=g[v].module,
            component=cast.name,
        )
        g.splice(u, v, node)
    return g


@flow_pass("insert_forks")
def insert_forks(g: Graph, ctx: FlowContext) -> Graph:
    """A ``fork`` node (stream_fork) after every node read by several consumers: each consumer
    gets its own valid / ready pair and takes every beat once, in its own time."""
    fork = components.for_op("fork", "fork")
    for name in g.names():
        readers = g.consumers(name)
        if len(readers) < 2:
            continue
        node = g[name].stream_like(f"fork_{name}", "fork", consumers=len(readers))
        node.component = fork.name
        ports = {r: g.port(name, r) for r in readers}
        for r in readers:
            g.nx.remove_edge(name, r)
        g.add(node)
        g.connect(name, node.name)
        for k, r in enumerate(readers):
            g.connect(node.name, r, ports[r], out=k)
    return g


@flow_pass("check_topology")
def check_topology(g: Graph, ctx: FlowContext) -> Graph:
    """One input, one output; fan-out only through forks, fan-in only into multi-input operations
    (``add``: two operands), every input port fed once."""
    if INPUT not in g or OUTPUT not in g:
        raise MappingError("the captured graph has no input or no output")
    for node in g:
        ins, outs = g.producers(node.name), g.consumers(node.name)
        want = 0 if node.op == "input" else MULTI_INPUT_OPS.get(node.op, 1)
        if len(ins) != want or sorted(g.port(p, node.name) for p in ins) != list(range(want)):
            raise MappingError(f"node {node.name!r} ({node.op}) has {len(ins)} producers; it takes {want}")
        if len(outs) > 1 and node.op != "fork":
            raise MappingError(f"node {node.name!r} has {len(outs)} consumers without a fork")
        if not outs and node.op != "output":
            raise MappingError(f"node {node.name!r} ({node.op}): its result is never used")
    return g
