"""Capture handlers of element-wise operations: ReLU and table activations."""

from __future__ import annotations

import torch

from mapper.capture.state import CaptureState, handles, op_name
from mapper.errors import MappingError
from quant.modules import QuantActivation, QuantReLU


@handles("relu", "relu_")
def relu(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.relu`` -> ``relu`` with the QuantReLU's formats; a float ReLU keeps its producer's
    format (``max(x, 0)`` is exact), resolved by the ``resolve_formats`` pass."""
    node = state.new_node(fx, "relu")
    qmod = state.quant.get(node.module)
    if isinstance(qmod, QuantReLU):
        node.formats = qmod.formats
    state.add(node, state.data_args(fx))


@handles("sigmoid", "tanh", "gelu", "silu")
def activation(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.sigmoid`` / ``tanh`` / ``gelu`` / ``silu`` -> ``activation`` (fixed_lut) with the
    QuantActivation's formats; a float activation has no format and is refused naming the node."""
    function = op_name(fx.target)
    node = state.new_node(fx, "activation")
    qmod = state.quant.get(node.module)
    if not (isinstance(qmod, QuantActivation) and qmod.name == function):
        raise state.not_quantized(node, " (nn.Sigmoid, nn.Tanh, nn.GELU, nn.SiLU become fixed_lut tables)")
    node.attrs = {"function": function}
    node.formats = qmod.formats
    state.add(node, state.data_args(fx))


@handles("add", "add_")
def add(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.add`` of two data tensors of the same shape -> ``add`` (fixed_add). Its operands keep
    their producers' formats and its output is their exact sum (the ``resolve_formats`` pass):
    in the quantized model the float sum of two fixed-point values is exact, and the consumer
    quantizes it, which the cast the mapper inserts reproduces."""
    args = state.data_args(fx)
    node = state.new_node(fx, "add")
    alpha = fx.kwargs.get("alpha", 1)
    if len(args) != 2 or alpha != 1:
        what = "a constant" if len(args) != 2 else f"alpha={alpha}"
        raise MappingError(f"node {fx.name!r}: add with {what} is not supported; only the sum of two streams maps")
    shapes = [state.source(a).out_shape for a in args]
    if shapes[0] != shapes[1] or shapes[0] != node.out_shape:
        raise MappingError(
            f"node {fx.name!r}: add of per-sample shapes {shapes[0]} and {shapes[1]} (broadcast) is not supported; "
            "a residual must add two tensors of the same shape"
        )
    state.add(node, args)
