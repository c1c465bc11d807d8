"""The ``capture`` pass: a quantized PyTorch model becomes a dataflow graph of library operations.

The quantized model (``quant``) is turned into its float twin (every quantized module replaced by
``to_float()``), exported with ``torch.export.export``, and the aten graph is walked. Each aten
operation goes to the handler registered for it (:func:`mapper.capture.state.handles`):

| module | aten operations | graph nodes |
| --- | --- | --- |
| ``layers`` | linear, conv2d; batch-norm after a linear (folded into it) | ``linear``, ``conv2d``, ``dwconv2d`` |
| ``elementwise`` | relu; sigmoid, tanh, gelu, silu | ``relu``, ``activation`` |
| ``images`` | views (folded), getitem, max_pool2d | ``pool_window`` + ``max_pool2d`` |
| ``attention`` | head split and merge (folded); matmul, softmax, layer_norm | ``matmul``, ``softmax``, ``layernorm`` |

An operation without a handler becomes a node with the operation's own name, which the ``assign``
pass refuses naming the node, the operation and the supported set. The graph's number formats
come from the quantized modules at the same module path (``node.meta["nn_module_stack"]``).
"""

from __future__ import annotations

import torch
from torch import nn

from mapper.capture import attention, elementwise, images, layers  # noqa: F401  (registers the handlers)
from mapper.capture.state import HANDLERS, CaptureState, op_name, sample_shape
from mapper.errors import MappingError
from mapper.graph import INPUT, OUTPUT, Graph, Node
from mapper.passes.base import FlowContext, flow_pass
from quant.transform import QUANTIZED_MODULES, dequantize_model


def float_twin(model: nn.Module) -> nn.Module:
    """The float model with the same float weights (every quantized module -> ``to_float()``)."""
    return dequantize_model(model).eval()


def capture(model: nn.Module, example: torch.Tensor) -> Graph:
    """Capture a quantized model into a dataflow graph (see the module docstring).

    Args:
        model: a model whose layers are ``quant`` modules (``quantize_model``).
        example: a float input batch ``(B, ...)`` used to trace shapes (B >= 1).

    Raises:
        MappingError: a float layer left in the model, a shape the mapper cannot build, several
            inputs or outputs.
    """
    quant = {path: m for path, m in model.named_modules() if isinstance(m, QUANTIZED_MODULES)}
    twin = float_twin(model)
    if example.shape[0] < 2:  # a batch of one makes export specialise the batch dimension to 1
        example = torch.cat([example, example])
    with torch.no_grad():
        exported = torch.export.export(twin, (example,))
    sig = exported.graph_signature
    tensors = {ph: exported.state_dict[t] for ph, t in {**sig.inputs_to_parameters, **sig.inputs_to_buffers}.items()}
    user_inputs = list(sig.user_inputs)
    if len(user_inputs) != 1:
        raise MappingError(f"the model takes {len(user_inputs)} inputs; the mapper needs exactly one")
    state = CaptureState(Graph(), twin, quant, tensors)
    for fx in exported.graph.nodes:
        if fx.op == "placeholder":
            if fx.name == user_inputs[0]:
                shape = sample_shape(fx)
                state.graph.add(Node(INPUT, "input", shape, shape))
                state.alias[fx.name] = INPUT
        elif fx.op == "output":
            _output(state, fx)
        else:
            _operation(state, fx)
    return state.graph


def _operation(state: CaptureState, fx: torch.fx.Node) -> None:
    op = op_name(fx.target)
    handler = HANDLERS.get(op)
    flat = [a.name for a in state.data_args(fx) if a.name in state.flattened]
    if flat and op != "linear" and handler is not HANDLERS["view"]:
        raise MappingError(
            f"node {fx.name!r}: {op} of a flattened image is not supported; "
            "only a linear may follow the flatten of an image"
        )
    if handler is not None:
        handler(state, fx)
        return
    state.add(state.new_node(fx, op), state.data_args(fx))  # no component: the assign pass names it


def _output(state: CaptureState, fx: torch.fx.Node) -> None:
    outs = [a for a in fx.args[0] if a is not None]
    if len(outs) != 1:
        raise MappingError(f"the model returns {len(outs)} tensors; the mapper needs exactly one")
    if outs[0].name in state.flattened:
        raise MappingError(
            f"the model returns the flattened image {outs[0].name!r}; its stream order (y, x, c) "
            "is not torch's (c, y, x): end with a linear"
        )
    src = state.alias[outs[0].name]
    shape = state.graph[src].out_shape
    state.graph.add(Node(OUTPUT, "output", shape, shape))
    state.graph.connect(src, OUTPUT)


@flow_pass("capture")
def capture_pass(g: Graph, ctx: FlowContext) -> Graph:
    """The ``capture`` pass: ``ctx.model`` traced on ``ctx.example`` (the input graph is unused)."""
    if ctx.model is None or ctx.example is None:
        raise ValueError("the capture pass needs ctx.model and ctx.example")
    return capture(ctx.model, ctx.example)
