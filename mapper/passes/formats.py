"""Passes that make a captured graph consistent: components, topology, number formats, casts."""

from __future__ import annotations

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


@flow_pass("check_topology")
def check_topology(g: Graph, ctx: FlowContext) -> Graph:
    """The folding and emission support pipelines without fan-out or fan-in (MLPs, CNN chains)."""
    if INPUT not in g or OUTPUT not in g:
        raise MappingError("the captured graph has no input or no output")
    for name in g.names():
        ins, outs = len(g.producers(name)), len(g.consumers(name))
        if ins > 1 or outs > 1:
            raise MappingError(
                f"node {name!r} has {ins} producers and {outs} consumers; the mapper supports pipelines "
                "without branches (stream_fork / stream_join are not mapped yet)"
            )
    return g


@flow_pass("resolve_formats")
def resolve_formats(g: Graph, ctx: FlowContext) -> Graph:
    """Formats of the ports and of float ReLUs, which take their producer's / consumer's format."""
    names = g.names()
    first = g[g.consumers(INPUT)[0]]
    if first.formats is None:
        raise MappingError(
            f"node {first.name!r} right after the input has no number format; the first layer must be quantized"
        )
    fmt = first.formats.data_in
    g[INPUT].formats = LayerFormats(fmt, None, None, fmt)
    for name in names[1:]:
        node = g[name]
        if node.formats is None:
            t = g[g.producers(name)[0]].formats.data_out
            node.formats = LayerFormats(t, None, None, t)
    return g


@flow_pass("insert_casts")
def insert_casts(g: Graph, ctx: FlowContext) -> Graph:
    """A ``cast`` node (fixed_cast) on every stream whose producer's output format is not its
    consumer's input format. The quantized modules quantize their float input with
    ``float_to_fixed``, which on a value exact in the producer's format is ``golden.components.cast``."""
    cast = components.for_op("cast", "cast")
    for u, v, _ in g.edges():
        if v == OUTPUT:
            continue
        out_t, in_t = g[u].formats.data_out, g[v].formats.data_in
        if out_t == in_t:
            continue
        node = Node(
            name=f"cast_{v}",
            op="cast",
            in_shape=g[u].out_shape,
            out_shape=g[u].out_shape,
            formats=LayerFormats(out_t, None, None, in_t),
            module=g[v].module,
            component=cast.name,
        )
        g.splice(u, v, node)
    return g
