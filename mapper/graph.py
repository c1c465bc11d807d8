"""The dataflow graph every mapper pass reads and returns: typed node records on a networkx DiGraph.

A :class:`Node` is one operation on one stream: capture fills its identity, shapes, number formats
and constants; later passes add the component, the parallelism (``fold``), RTL parameters, cycles
and resources. Edges are streams; an edge's ``port`` attribute is the consumer's input index
(0 for single-input operations), so the operands of a two-input operation stay ordered, and its
``out`` attribute the producer's output index (a fork has one output per consumer).
:class:`GraphInfo` holds what the passes conclude about the whole graph (target, predictions).

``data_in`` and ``data_out`` (:data:`INPUT`, :data:`OUTPUT`) are the accelerator's ports.
Images (per-sample shape ``(C, H, W)``) travel as pixels in raster order with the channels of a
pixel in lanes (docs/contracts.md), so golden functions of image nodes take and return flattened
``(H, W, C)`` samples.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from common.atomic import write_bytes, write_text
from golden.fixed import FixedType, IntArray
from quant.config import LayerFormats

INPUT = "data_in"
OUTPUT = "data_out"
PORT_OPS = frozenset({"input", "output"})


@dataclass(frozen=True)
class Fold:
    """Parallelism of one node: lanes per beat on its input and on its output stream, and for a
    convolution the window pixels its window generator hands its linear layer per cycle
    (``window``: conv_window's WINDOW_PAR; 1 for every other node)."""

    in_lanes: int
    out_lanes: int
    window: int = 1


@dataclass(frozen=True)
class Resources:
    """FPGA resources (Xilinx 7-series cells): LUTs, flip-flops, DSP48E1 slices, 36 kb BRAMs."""

    lut: int = 0
    ff: int = 0
    dsp: int = 0
    bram: float = 0.0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.lut + other.lut, self.ff + other.ff, self.dsp + other.dsp, self.bram + other.bram)

    def cost(self) -> float:
        """One scalar for comparing foldings: LUT-equivalents (a DSP ~ 60 LUTs, a BRAM ~ 200)."""
        return self.lut + 0.5 * self.ff + 60.0 * self.dsp + 200.0 * self.bram

    def as_dict(self) -> dict[str, float]:
        """The four figures by name (for the JSON report)."""
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram": self.bram}


@dataclass
class Node:
    """One operation of the dataflow graph.

    Attributes:
        name: unique name (the aten node's, or ``data_in`` / ``data_out`` for the ports).
        op: graph operation (``input``, ``output``, ``linear``, ``relu``, ``cast``, ``fifo``, ...).
        in_shape, out_shape: per-sample shapes (batch dimension dropped).
        formats: number formats (ports: ``data_in == data_out`` = the port's format).
        weight, bias: raw int64 constants in ``formats.weight`` / ``formats.bias`` (linear
            ``(N, K)`` / ``(N,)``, conv2d ``(O, C, KH, KW)`` / ``(O,)``), or None.
        attrs: operation attributes (images: ``image`` (C, H, W), ``kernel``, ``stride``,
            ``padding``; activations: ``function``; FIFOs: ``depth``; operations of several
            inputs: ``operands``, the format each input port takes).
        target: the aten operation it came from (``""`` for inserted nodes).
        module: module path in the PyTorch model (``""`` when none).
        folded: names of graph operations folded into this node (views, batch-norm).
        component: the library component (set by the ``assign`` pass).
        fold: lanes per beat in and out (set by the ``fold`` pass).
        params: RTL parameters; cycles: cycles per inference; resources: estimate (set by
            ``annotate``).
    """

    name: str
    op: str
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    formats: LayerFormats | None = None
    weight: IntArray | None = None
    bias: IntArray | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    target: str = ""
    module: str = ""
    folded: list[str] = field(default_factory=list)
    component: str | None = None
    fold: Fold | None = None
    params: dict[str, Any] = field(default_factory=dict)
    cycles: int | None = None
    resources: Resources | None = None

    @property
    def is_port(self) -> bool:
        return self.op in PORT_OPS

    def input_format(self, port: int = 0) -> FixedType:
        """The format input ``port`` takes (``attrs["operands"]`` of a multi-input node, else
        ``formats.data_in``)."""
        if "operands" in self.attrs:
            return self.attrs["operands"][port]
        assert self.formats is not None, f"node {self.name} has no formats"
        return self.formats.data_in

    def stream_like(self, name: str, op: str, **attrs: Any) -> Node:
        """A plumbing node carrying this node's output stream (same shape and format)."""
        t = self.formats.data_out if self.formats else None
        return Node(
            name=name,
            op=op,
            in_shape=self.out_shape,
            out_shape=self.out_shape,
            formats=None if t is None else LayerFormats(t, None, None, t),
            attrs=dict(attrs),
        )

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values (constants summarised by shape)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("weight", "bias"):
                out[f.name] = None if value is None else {"shape": list(np.shape(value))}
            elif f.name == "formats":
                out[f.name] = (
                    None
                    if value is None
                    else {
                        k: None if getattr(value, k) is None else str(getattr(value, k))
                        for k in ("data_in", "weight", "bias", "data_out")
                    }
                )
            elif isinstance(value, (Fold, Resources)):
                out[f.name] = value.__dict__
            else:
                out[f.name] = _jsonable(value)
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, FixedType):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class GraphInfo:
    """What the passes conclude about the whole graph.

    Attributes:
        target_cycles: the requested initiation interval (cycles per inference).
        predicted_cycles: the pipeline's initiation interval (largest node cycles).
        predicted_latency: cycles from the first input beat of an inference to its last output
            beat, in an empty pipeline.
        bottleneck: the node with the largest cycles per inference.
        resources: summed estimate of every node.
        predicted_fmax_mhz: the clock the design is predicted to reach on ECP5 (``clock`` pass).
        fmax_limit: the node that sets it.
        unclocked: nodes whose component has no timing calibration (left out of the prediction).
    """

    target_cycles: int | None = None
    predicted_cycles: int | None = None
    predicted_latency: int | None = None
    bottleneck: str | None = None
    resources: Resources | None = None
    predicted_fmax_mhz: float | None = None
    fmax_limit: str | None = None
    unclocked: list[str] = field(default_factory=list)


class Graph:
    """Typed node records on a ``networkx.DiGraph`` (the record is node attribute ``node``)."""

    def __init__(self) -> None:
        self.nx = nx.DiGraph()
        self.info = GraphInfo()

    def copy(self) -> Graph:
        """A deep copy (records and info): passes may change it without touching this one."""
        return copy.deepcopy(self)

    def add(self, node: Node) -> Node:
        if node.name in self.nx:
            raise ValueError(f"graph already has a node named {node.name!r}")
        self.nx.add_node(node.name, node=node)
        return node

    def connect(self, producer: str, consumer: str, port: int = 0, out: int = 0) -> None:
        """A stream from output ``out`` of ``producer`` to input ``port`` of ``consumer``."""
        self.nx.add_edge(producer, consumer, port=port, out=out)

    def remove(self, name: str) -> None:
        self.nx.remove_node(name)

    def __getitem__(self, name: str) -> Node:
        try:
            return self.nx.nodes[name]["node"]
        except KeyError:
            raise KeyError(f"no node {name!r} in the graph") from None

    def __contains__(self, name: object) -> bool:
        return name in self.nx

    def __len__(self) -> int:
        return self.nx.number_of_nodes()

    def names(self) -> list[str]:
        """Node names in a topological order (stable: ties broken by insertion order)."""
        return list(nx.lexicographical_topological_sort(self.nx, key=self._order().__getitem__))

    def _order(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.nx.nodes)}

    def __iter__(self) -> Iterator[Node]:
        return (self[n] for n in self.names())

    def is_chain(self) -> bool:
        """Every node has at most one producer and one consumer (no fork, no join)."""
        return all(self.nx.in_degree(n) <= 1 and self.nx.out_degree(n) <= 1 for n in self.nx.nodes)

    def operations(self) -> Iterator[Node]:
        """Every node but the ports, in topological order."""
        return (n for n in self if not n.is_port)

    def producers(self, name: str) -> list[str]:
        """The nodes feeding ``name``, ordered by the consumer's input port."""
        return sorted(self.nx.predecessors(name), key=lambda p: self.nx.edges[p, name]["port"])

    def consumers(self, name: str) -> list[str]:
        """The nodes reading ``name``, ordered by the producer's output index."""
        return sorted(self.nx.successors(name), key=lambda c: self.nx.edges[name, c]["out"])

    def port(self, producer: str, consumer: str) -> int:
        """The consumer's input index of the stream ``producer -> consumer``."""
        return int(self.nx.edges[producer, consumer]["port"])

    def out(self, producer: str, consumer: str) -> int:
        """The producer's output index of the stream ``producer -> consumer``."""
        return int(self.nx.edges[producer, consumer]["out"])

    def producer(self, name: str) -> str:
        """The single node feeding ``name``."""
        (src,) = self.producers(name)
        return src

    def edges(self) -> list[tuple[str, str, int]]:
        """Every stream as (producer, consumer, consumer port)."""
        return [(u, v, d["port"]) for u, v, d in self.nx.edges(data=True)]

    def splice(self, producer: str, consumer: str, node: Node) -> Node:
        """Insert ``node`` on the stream ``producer -> consumer`` (it takes the producer's output
        and the consumer's input port)."""
        port, out = self.port(producer, consumer), self.out(producer, consumer)
        self.nx.remove_edge(producer, consumer)
        self.add(node)
        self.connect(producer, node.name, out=out)
        self.connect(node.name, consumer, port)
        return node

    def to_json(self) -> dict[str, Any]:
        """Nodes in topological order, edges and the graph info, JSON-ready."""
        return {
            "info": _jsonable(
                {k: (v.__dict__ if isinstance(v, Resources) else v) for k, v in self.info.__dict__.items()}
            ),
            "nodes": [n.to_json() for n in self],
            "edges": [{"from": u, "to": v, "port": p, "out": self.out(u, v)} for u, v, p in self.edges()],
        }

    def dump(self, folder: Path, stem: str) -> tuple[Path, Path]:
        """Write ``<stem>.json`` and a picture ``<stem>.png`` of the graph into ``folder``."""
        json_path = write_text(folder / f"{stem}.json", json.dumps(self.to_json(), indent=1))
        return json_path, write_bytes(folder / f"{stem}.png", self.picture(stem))

    def picture(self, title: str) -> bytes:
        """PNG bytes: nodes left to right by topological generation, labelled op / component /
        lanes / cycles where known."""
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415

        g = self.nx.copy()
        for layer, names in enumerate(nx.topological_generations(g)):
            for n in names:
                g.nodes[n]["layer"] = layer
        pos = nx.multipartite_layout(g, subset_key="layer")
        labels = {}
        for n in g.nodes:
            rec = self[n]
            lines = [n, rec.component or rec.op]
            if rec.fold is not None:
                lines.append(f"{rec.fold.in_lanes}->{rec.fold.out_lanes} lanes")
            if rec.cycles is not None:
                lines.append(f"{rec.cycles} cyc")
            labels[n] = "\n".join(lines)
        width = max(6.0, 1.6 * (max(nx.get_node_attributes(g, "layer").values(), default=0) + 1))
        fig, ax = plt.subplots(figsize=(width, 4), dpi=100)
        nx.draw_networkx(
            g, pos, ax=ax, labels=labels, node_color="#dde8f5", node_size=2200, font_size=7, arrows=True, node_shape="s"
        )
        ax.set_title(title, fontsize=9)
        ax.axis("off")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        return buf.getvalue()
