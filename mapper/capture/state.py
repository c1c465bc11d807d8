"""What capture handlers share: the graph being built, the exported model, and the handler table.

A handler turns one aten node of the exported float twin into graph nodes (or folds it into an
existing one). It is registered for one or more aten operation names with :func:`handles`; the
walk in :mod:`mapper.capture` calls it with the :class:`CaptureState` and the fx node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from mapper.errors import MappingError
from mapper.graph import Graph, Node

Handler = Callable[["CaptureState", torch.fx.Node], None]

#: aten operation name -> handler.
HANDLERS: dict[str, Handler] = {}


def handles(*ops: str) -> Callable[[Handler], Handler]:
    """Register a handler for the aten operations ``ops`` (names without overload, e.g. ``linear``)."""

    def add(fn: Handler) -> Handler:
        for op in ops:
            if op in HANDLERS:
                raise ValueError(f"aten operation {op!r} has two capture handlers")
            HANDLERS[op] = fn
        return fn

    return add


def op_name(target: Any) -> str:
    """The operation name of an aten target or its text: ``aten.linear.default`` -> ``linear``."""
    name = getattr(target, "__name__", None) or str(target).removeprefix("aten.")
    return name.split(".")[0]


def sample_shape(fx: torch.fx.Node) -> tuple[int, ...]:
    """Per-sample shape of an fx node's value (batch dimension dropped; ``()`` when it has none)."""
    val = fx.meta.get("val")
    return tuple(int(d) for d in val.shape[1:]) if hasattr(val, "shape") else ()


def elements_of(shape: tuple[int, ...]) -> int:
    """Elements of a per-sample shape."""
    return int(np.prod(shape, dtype=np.int64))


@dataclass
class CaptureState:
    """The walk's state.

    Attributes:
        graph: the dataflow graph being built.
        twin: the exported float model (for the kind of a module that is not quantized).
        quant: module path -> quantized module of the original model.
        tensors: placeholder name -> parameter or buffer tensor of the export.
        alias: fx node name -> graph node that produces its value.
        flattened: fx node name -> (C, H, W) of the image it is a flattened view of.
        layouts: fx node name -> stream layout of an attention tensor (mapper.capture.attention).
    """

    graph: Graph
    twin: nn.Module
    quant: dict[str, nn.Module]
    tensors: dict[str, torch.Tensor]
    alias: dict[str, str] = field(default_factory=dict)
    flattened: dict[str, tuple[int, ...]] = field(default_factory=dict)
    layouts: dict[str, Any] = field(default_factory=dict)

    def data_args(self, fx: torch.fx.Node) -> list[torch.fx.Node]:
        """The fx node's arguments that carry the model's data (not weights or constants)."""
        return [a for a in fx.args if isinstance(a, torch.fx.Node) and a.name in self.alias]

    def source(self, arg: torch.fx.Node) -> Node:
        """The graph node producing the value of fx node ``arg``."""
        return self.graph[self.alias[arg.name]]

    def new_node(self, fx: torch.fx.Node, op: str) -> Node:
        """A node for ``fx``: its name, target, module path, shapes (input: the first data argument's)."""
        args = self.data_args(fx)
        stack = fx.meta.get("nn_module_stack") or {}
        return Node(
            name=fx.name,
            op=op,
            in_shape=self.source(args[0]).out_shape if args else (),
            out_shape=sample_shape(fx),
            target=str(fx.target),
            module=list(stack.values())[-1][0] if stack else "",
        )

    def add(self, node: Node, inputs: list[torch.fx.Node], fx: torch.fx.Node | None = None) -> Node:
        """Add ``node`` fed by the graph nodes behind ``inputs`` (port = position); ``fx`` (default:
        the node's own name) now resolves to it."""
        self.graph.add(node)
        for port, a in enumerate(inputs):
            self.graph.connect(self.alias[a.name], node.name, port)
        self.alias[fx.name if fx is not None else node.name] = node.name
        return node

    def quantized(self, node: Node, cls: type, hint: str = "") -> Any:
        """The quantized module at ``node``'s module path, or a MappingError naming the node."""
        qmod = self.quant.get(node.module)
        if not isinstance(qmod, cls):
            raise self.not_quantized(node, hint)
        return qmod

    def not_quantized(self, node: Node, hint: str = "") -> MappingError:
        """The error for an operation whose module is not the quantized one it needs."""
        kind = type(self.twin.get_submodule(node.module)).__name__ if node.module else "function"
        return MappingError(
            f"node {node.name!r}: {op_name(node.target)} in module {node.module!r} ({kind}) is not quantized; "
            f"quantize the model with quant.transform.quantize_model first{hint}"
        )
