"""Capture handlers of element-wise operations: ReLU and table activations."""

from __future__ import annotations

import torch

from mapper.capture.state import CaptureState, handles, op_name
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
