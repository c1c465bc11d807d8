"""Graph capture: a quantized PyTorch model becomes a ``networkx.DiGraph`` of library operations.

The quantized model (``sw_frontend.quant``) is turned into its float twin (every quantized module
replaced by ``to_float()``), exported with ``torch.export.export``, and the aten graph is walked:

* ``aten.linear`` -> node ``linear`` with the integer weights / bias and the number formats of the
  quantized module at the same module path (``node.meta["nn_module_stack"]``);
* ``aten.relu`` -> node ``relu`` (formats of the QuantReLU there; a float ReLU keeps its
  producer's format, since max(x, 0) is exact);
* ``aten.sigmoid`` / ``aten.tanh`` / ``aten.gelu`` / ``aten.silu`` -> node ``activation``
  (fixed_lut) with ``attrs = {"function": name}`` and the formats of the QuantActivation there (a
  float activation is refused: its output is not in any fixed-point format);
* ``aten.conv2d`` -> node ``conv2d`` (fixed_conv2d) with the QuantConv2d's integers and formats;
* ``aten.max_pool2d`` -> nodes ``<name>_window`` (``pool_window``, conv_window) and ``<name>``
  (``max_pool2d``, pool_max), in their producer's format; only padding 0, dilation 1 and no
  ceil_mode map;
* images ``(C, H, W)`` travel as raster pixels with the channels innermost, so a flatten of an
  image keeps the stream order (y, x, c) and the linear after it gets its weight columns permuted
  from torch's (c, y, x) order (:func:`_image_order`);
* view / reshape / flatten / dropout / clone and friends only rename data (streams are row-major,
  innermost dimension in lanes) and are folded away;
* a batch-norm right after a linear is folded into it (see :func:`_fold_batchnorm`);
* any other operation becomes a node with that operation name, so that component assignment
  (:func:`assign`) rejects it with a message naming the node, the operation and the supported set.

Where one node's output format differs from the next node's input format a ``cast`` node is
inserted: the quantized modules re-quantize their float input with ``float_to_fixed``, which on an
exactly representable value is ``golden.components.cast``.

Graph nodes (keys of the DiGraph) are names; ``data_in`` and ``data_out`` stand for the
accelerator's input and output ports. Node attributes:

* ``name``, ``op`` (``input``, ``output``, ``linear``, ``relu``, ``cast``, ...), ``target`` (aten op),
  ``module`` (module path or ``""``), ``folded`` (names of folded-away graph nodes);
* ``in_shape``, ``out_shape``: per-sample shapes (batch dimension dropped);
* ``formats``: :class:`~sw_frontend.quant.config.LayerFormats` (input/output ports: data_in ==
  data_out == the port's format);
* ``weight`` ``(N, K)`` / ``bias`` ``(N,)``: raw int64 NumPy arrays in ``formats.weight`` /
  ``formats.bias``, or None;
* ``attrs``: op attributes of image nodes: ``image`` (C, H, W) input, ``kernel`` (KH, KW),
  ``stride``, ``padding``; of activation nodes: ``function`` (``golden.activation`` name); empty
  otherwise;
* ``component``: the registry entry name (set by :func:`assign`).
"""

from __future__ import annotations

import copy
from typing import Any

import networkx as nx
import numpy as np
import torch
from torch import nn

from golden.fixed import FixedType, accumulator_width, float_to_fixed
from mapper.registry import MappingError, entry_for
from sw_frontend.quant.config import LayerFormats
from sw_frontend.quant.modules import QuantActivation, QuantConv2d, QuantLinear, QuantReLU
from sw_frontend.quant.transform import dequantize_model

INPUT = "data_in"
OUTPUT = "data_out"

#: aten operations that only rename data when the batch dimension is kept (folded away).
VIEW_OPS = frozenset(
    {
        "view", "reshape", "_unsafe_view", "flatten", "unflatten", "squeeze", "unsqueeze",
        "contiguous", "clone", "alias", "detach", "dropout", "lift_fresh_copy", "_to_copy",
    }
)
BATCHNORM_OPS = frozenset({"batch_norm", "_native_batch_norm_legit_no_training"})
OP_NAMES = {
    "linear": "linear", "relu": "relu", "relu_": "relu", "conv2d": "conv2d", "max_pool2d": "max_pool2d",
    "sigmoid": "activation", "tanh": "activation", "gelu": "activation", "silu": "activation",
}


def elements_of(shape: tuple[int, ...]) -> int:
    """Elements of a per-sample shape."""
    return int(np.prod(shape, dtype=np.int64))


def _op_name(target: Any) -> str:
    """``aten.linear.default`` -> ``linear``."""
    name = getattr(target, "__name__", str(target))
    return name.split(".")[0]


def _module_path(fx_node: torch.fx.Node) -> str:
    stack = fx_node.meta.get("nn_module_stack") or {}
    return list(stack.values())[-1][0] if stack else ""


def _sample_shape(fx_node: torch.fx.Node) -> tuple[int, ...]:
    val = fx_node.meta.get("val")
    return tuple(int(d) for d in val.shape[1:])


def float_twin(model: nn.Module) -> nn.Module:
    """The float model with the same float weights (every quantized module -> ``to_float()``)."""
    return dequantize_model(model).eval()


def _batchnorm_params(
    fx_node: torch.fx.Node, tensors: dict[str, torch.Tensor]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    args = fx_node.args
    gamma, beta, mean, var = (tensors[a.name].detach().double().numpy() for a in args[1:5])
    eps = float(args[-2] if _op_name(fx_node.target) == "batch_norm" else args[-1])
    return gamma, beta, mean, var, eps


def _fold_batchnorm(lin: dict[str, Any], bn_name: str, params: tuple) -> None:
    """Fold ``y = (x - mean) / sqrt(var + eps) * gamma + beta`` into the linear node ``lin``.

    The quantized weights and bias (as reals) are scaled and shifted, then quantized again to the
    linear's weight and bias formats. A linear without bias gets one in a format with the
    accumulator's fraction bits and width. The folded integers are what the hardware and the
    golden network use; the quantized PyTorch model (float batch-norm between quantized layers)
    is then only approximately equal to them.
    """
    gamma, beta, mean, var, eps = params
    f: LayerFormats = lin["formats"]
    scale = gamma / np.sqrt(var + eps)
    w_real = lin["weight"].astype(np.float64) * f.weight.scale
    if lin["bias"] is not None:
        b_t = f.bias
        b_real = lin["bias"].astype(np.float64) * b_t.scale
    else:
        k = lin["weight"].shape[1]
        width = min(32, accumulator_width(f.data_in, f.weight, k, with_bias=True))
        b_t = FixedType(width, f.data_in.frac + f.weight.frac)
        b_real = np.zeros(lin["weight"].shape[0])
    lin["weight"] = float_to_fixed(w_real * scale[:, None], f.weight)
    lin["bias"] = float_to_fixed((b_real - mean) * scale + beta, b_t)
    lin["formats"] = LayerFormats(f.data_in, f.weight, b_t, f.data_out)
    lin["folded"].append(bn_name)


def _new_node(name: str, op: str, target: str, module: str, in_shape: tuple, out_shape: tuple) -> dict[str, Any]:
    return {
        "name": name,
        "op": op,
        "target": target,
        "module": module,
        "folded": [],
        "in_shape": in_shape,
        "out_shape": out_shape,
        "formats": None,
        "weight": None,
        "bias": None,
        "attrs": {},
    }


def _pair(value: Any, name: str, node: str) -> tuple[int, int]:
    """A torch int-or-pair argument as a pair."""
    v = [int(value)] * 2 if isinstance(value, int) else [int(e) for e in value]
    if len(v) == 1:
        v = v * 2
    if len(v) != 2:
        raise MappingError(f"node {node!r}: {name} {value} is not one or two integers")
    return v[0], v[1]


def _square(pair: tuple[int, int], name: str, node: str) -> int:
    """The one value conv_window takes for rows and columns."""
    if pair[0] != pair[1]:
        raise MappingError(
            f"node {node!r}: {name} {pair} differs between rows and columns; conv_window takes one value"
        )
    return pair[0]


def _conv_attrs(name: str, qmod: QuantConv2d, in_shape: tuple[int, ...]) -> dict[str, Any]:
    """``attrs`` of a conv2d node: input image (C, H, W), kernel (KH, KW), stride, padding."""
    if len(in_shape) != 3:
        raise MappingError(
            f"node {name!r}: conv2d on per-sample shape {in_shape}; fixed_conv2d takes (C, H, W) images"
        )
    return {
        "image": tuple(in_shape),
        "kernel": qmod.kernel_size,
        "stride": _square(qmod.stride, "stride", name),
        "padding": _square(qmod.padding, "padding", name),
    }


def _pool_attrs(fx: torch.fx.Node, in_shape: tuple[int, ...]) -> dict[str, Any]:
    """``attrs`` of a max_pool2d node, or a MappingError naming it for what conv_window + pool_max
    cannot do (padding, dilation, ceil_mode, unequal row / column strides)."""
    names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    values: dict[str, Any] = {"stride": [], "padding": 0, "dilation": 1, "ceil_mode": False}
    values.update(dict(zip(names, fx.args[1:])))
    values.update({k: v for k, v in fx.kwargs.items() if k in names})
    kernel = _pair(values["kernel_size"], "kernel_size", fx.name)
    stride = _pair(values["stride"], "stride", fx.name) if values["stride"] else kernel
    bad = {
        "padding": _pair(values["padding"], "padding", fx.name) != (0, 0),
        "dilation": _pair(values["dilation"], "dilation", fx.name) != (1, 1),
        "ceil_mode": bool(values["ceil_mode"]),
    }
    if any(bad.values()):
        which = ", ".join(f"{k}={values[k]}" for k, v in bad.items() if v)
        raise MappingError(
            f"node {fx.name!r}: max_pool2d with {which} is not supported; conv_window + pool_max "
            "need padding=0, dilation=1, ceil_mode=False"
        )
    if len(in_shape) != 3:
        raise MappingError(
            f"node {fx.name!r}: max_pool2d on per-sample shape {in_shape}; pooling takes (C, H, W) images"
        )
    return {"image": tuple(in_shape), "kernel": kernel, "stride": _square(stride, "stride", fx.name), "padding": 0}


def _image_order(w: np.ndarray, image: tuple[int, ...]) -> np.ndarray:
    """A linear's weight ``(N, C*H*W)`` for torch's flatten order (c, y, x) with its columns
    permuted to the stream order of an image (y, x, c): exact, integers only."""
    c, h, wd = image
    return np.ascontiguousarray(w.reshape(-1, c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1))


def capture(model: nn.Module, example: torch.Tensor) -> nx.DiGraph:
    """Capture a quantized model into a dataflow graph (see the module docstring).

    Args:
        model: a model whose layers are ``sw_frontend.quant`` modules (``quantize_model``).
        example: a float input batch ``(B, ...)`` used to trace shapes (B >= 1).

    Raises:
        UnsupportedOperationError: an operation has no library component.
        MappingError: the graph has a shape the mapper cannot build (fan-out, unquantized linear).
    """
    quant = {path: m for path, m in model.named_modules() if isinstance(m, (QuantLinear, QuantReLU, QuantConv2d, QuantActivation))}
    twin = float_twin(model)
    if example.shape[0] < 2:  # a batch of one makes export specialise the batch dimension to 1
        example = torch.cat([example, example])
    with torch.no_grad():
        exported = torch.export.export(twin, (example,))
    sig = exported.graph_signature
    state = exported.state_dict
    tensors = {ph: state[t] for ph, t in {**sig.inputs_to_parameters, **sig.inputs_to_buffers}.items()}
    user_inputs = list(sig.user_inputs)
    if len(user_inputs) != 1:
        raise MappingError(f"the model takes {len(user_inputs)} inputs; the mapper needs exactly one")

    g = nx.DiGraph()
    alias: dict[str, str] = {}  # fx node name -> graph node that produces its value
    flattened: dict[str, tuple[int, ...]] = {}  # fx node name -> (C, H, W) of the image it flattens
    for fx in exported.graph.nodes:
        if fx.op == "placeholder":
            if fx.name == user_inputs[0]:
                shape = _sample_shape(fx)
                g.add_node(INPUT, **_new_node(INPUT, "input", "", "", shape, shape))
                alias[fx.name] = INPUT
            continue
        if fx.op == "output":
            outs = [a for a in fx.args[0] if a is not None]
            if len(outs) != 1:
                raise MappingError(f"the model returns {len(outs)} tensors; the mapper needs exactly one")
            if outs[0].name in flattened:
                raise MappingError(
                    f"the model returns the flattened image {outs[0].name!r}; its stream order (y, x, c) "
                    "is not torch's (c, y, x): end with a linear"
                )
            src = alias[outs[0].name]
            shape = g.nodes[src]["out_shape"]
            g.add_node(OUTPUT, **_new_node(OUTPUT, "output", "", "", shape, shape))
            g.add_edge(src, OUTPUT)
            continue
        op = _op_name(fx.target)
        data_args = [a for a in fx.args if isinstance(a, torch.fx.Node) and a.name in alias]
        shape = _sample_shape(fx) if hasattr(fx.meta.get("val"), "shape") else ()
        if op == "getitem" and data_args:
            alias[fx.name] = alias[data_args[0].name]
            continue
        if op in VIEW_OPS and len(data_args) == 1:
            val = fx.meta.get("val")
            src_val = data_args[0].meta.get("val")
            if val.shape[0] == src_val.shape[0]:  # batch kept: a pure rename of the stream
                src = alias[data_args[0].name]
                src_shape = g.nodes[src]["out_shape"]
                if data_args[0].name in flattened:
                    if shape != (elements_of(src_shape),):
                        raise MappingError(
                            f"node {fx.name!r}: reshape of a flattened image to {shape} is not supported"
                        )
                    flattened[fx.name] = flattened[data_args[0].name]
                elif len(src_shape) == 3 and shape != src_shape:
                    # an image stream is in (y, x, c) order: only a flatten feeding a linear maps
                    if shape != (elements_of(src_shape),):
                        raise MappingError(
                            f"node {fx.name!r}: reshape of the image {src_shape} to {shape} is not "
                            "supported; "
                            "only a flatten before a linear"
                        )
                    flattened[fx.name] = src_shape
                else:
                    g.nodes[src]["out_shape"] = shape
                alias[fx.name] = src
                g.nodes[src]["folded"].append(fx.name)
                continue
        if any(a.name in flattened for a in data_args) and _op_name(fx.target) != "linear":
            raise MappingError(
                f"node {fx.name!r}: {_op_name(fx.target)} of a flattened image is not supported; "
                "only a linear may follow the flatten of an image"
            )
        if op in BATCHNORM_OPS and len(data_args) == 1:
            src = alias[data_args[0].name]
            node = g.nodes[src]
            if node["op"] == "linear" and g.out_degree(src) == 0:
                _fold_batchnorm(node, fx.name, _batchnorm_params(fx, tensors))
                alias[fx.name] = src
                continue
        module = _module_path(fx)
        in_shape = g.nodes[alias[data_args[0].name]]["out_shape"] if data_args else ()
        attrs = _new_node(fx.name, OP_NAMES.get(op, op), str(fx.target), module, in_shape, shape)
        qmod = quant.get(module)
        if attrs["op"] == "linear":
            if not isinstance(qmod, QuantLinear):
                kind = type(twin.get_submodule(module)).__name__ if module else "function"
                raise MappingError(
                    f"node {fx.name!r}: linear in module {module!r} ({kind}) is not quantized; "
                    "quantize the model with sw_frontend.quant.transform.quantize_model first"
                )
            if data_args[0].name in flattened:  # torch flattens (c, y, x); the stream is (y, x, c)
                in_shape = (elements_of(in_shape),)
                attrs["in_shape"] = in_shape
            if len(in_shape) != 1:
                raise MappingError(
                    f"node {fx.name!r}: linear on per-sample shape {in_shape} is not supported; "
                    "only (batch, features) inputs map to fixed_linear"
                )
            attrs["formats"] = qmod.formats
            attrs["weight"] = qmod.int_weight().numpy().astype(np.int64)
            if data_args[0].name in flattened:
                attrs["weight"] = _image_order(attrs["weight"], flattened[data_args[0].name])
            bias = qmod.int_bias()
            attrs["bias"] = None if bias is None else bias.numpy().astype(np.int64)
        elif attrs["op"] == "conv2d":
            if not isinstance(qmod, QuantConv2d):
                kind = type(twin.get_submodule(module)).__name__ if module else "function"
                raise MappingError(
                    f"node {fx.name!r}: conv2d in module {module!r} ({kind}) is not quantized; "
                    "quantize the model with sw_frontend.quant.transform.quantize_model first"
                )
            attrs["attrs"] = _conv_attrs(fx.name, qmod, in_shape)
            attrs["formats"] = qmod.formats
            attrs["weight"] = qmod.int_weight().numpy().astype(np.int64)
            bias = qmod.int_bias()
            attrs["bias"] = None if bias is None else bias.numpy().astype(np.int64)
        elif attrs["op"] == "max_pool2d":
            # conv_window (the windows, one pixel per beat) then pool_max (the maximum of each)
            attrs["attrs"] = _pool_attrs(fx, in_shape)
            kh, kw = attrs["attrs"]["kernel"]
            c, oh, ow = shape
            window = _new_node(
                f"{fx.name}_window", "pool_window", str(fx.target), module, in_shape, (oh * ow * kh * kw, c)
            )
            window["attrs"] = attrs["attrs"]
            g.add_node(window["name"], **window)
            for a in data_args:
                g.add_edge(alias[a.name], window["name"])
            attrs["in_shape"] = window["out_shape"]
            g.add_node(fx.name, **attrs)
            g.add_edge(window["name"], fx.name)
            alias[fx.name] = fx.name
            continue
        elif attrs["op"] == "activation":
            if not isinstance(qmod, QuantActivation) or qmod.name != op:
                kind = type(twin.get_submodule(module)).__name__ if module else "function"
                raise MappingError(
                    f"node {fx.name!r}: {op} in module {module!r} ({kind}) is not quantized; quantize "
                    "the model with sw_frontend.quant.transform.quantize_model first (nn.Sigmoid, nn.Tanh, "
                    "nn.GELU, nn.SiLU become fixed_lut tables)"
                )
            attrs["attrs"] = {"function": op}
            attrs["formats"] = qmod.formats
        elif attrs["op"] == "relu" and isinstance(qmod, QuantReLU):
            attrs["formats"] = qmod.formats
        g.add_node(fx.name, **attrs)
        for a in data_args:
            g.add_edge(alias[a.name], fx.name)
        alias[fx.name] = fx.name
    assign(g)
    _check_chain(g)
    _resolve_formats(g)
    _insert_casts(g)
    assign(g)
    return g


def assign(g: nx.DiGraph) -> None:
    """Give every operation node its registry component; raise naming any unsupported one."""
    for name in nx.topological_sort(g):
        node = g.nodes[name]
        if node["op"] not in ("input", "output"):
            node["component"] = entry_for(node["op"], name).name


def _check_chain(g: nx.DiGraph) -> None:
    """The folding and emission support pipelines without fan-out or fan-in (MLPs)."""
    for name in g.nodes:
        if g.out_degree(name) > 1 or g.in_degree(name) > 1:
            raise MappingError(
                f"node {name!r} has {g.in_degree(name)} producers and {g.out_degree(name)} consumers; "
                "the mapper supports pipelines without branches (stream_fork / stream_join are not mapped yet)"
            )
    if INPUT not in g or OUTPUT not in g:
        raise MappingError("the captured graph has no input or no output")


def _resolve_formats(g: nx.DiGraph) -> None:
    """Formats of ports and float ReLUs, which take their producer's / consumer's format."""
    order = list(nx.topological_sort(g))
    first = next(g.successors(INPUT))
    if g.nodes[first]["formats"] is None:
        raise MappingError(
            f"node {first!r} right after the input has no number format; the first layer must be quantized"
        )
    fmt = g.nodes[first]["formats"].data_in
    g.nodes[INPUT]["formats"] = LayerFormats(fmt, None, None, fmt)
    for name in order[1:]:
        node = g.nodes[name]
        if node["formats"] is None:
            src = next(g.predecessors(name))
            t = g.nodes[src]["formats"].data_out
            node["formats"] = LayerFormats(t, None, None, t)


def _insert_casts(g: nx.DiGraph) -> None:
    """A ``cast`` node on every edge whose producer's output format is not its consumer's input."""
    for u, v in list(g.edges):
        if v == OUTPUT:
            continue
        out_t = g.nodes[u]["formats"].data_out
        in_t = g.nodes[v]["formats"].data_in
        if out_t == in_t:
            continue
        name = f"cast_{v}"
        shape = g.nodes[u]["out_shape"]
        attrs = _new_node(name, "cast", "", g.nodes[v]["module"], shape, shape)
        attrs["formats"] = LayerFormats(out_t, None, None, in_t)
        g.remove_edge(u, v)
        g.add_node(name, **attrs)
        g.add_edge(u, name)
        g.add_edge(name, v)


def chain(g: nx.DiGraph) -> list[str]:
    """Node names from input to output (the graph is a chain, see :func:`_check_chain`)."""
    return list(nx.topological_sort(g))


def golden_network(g: nx.DiGraph, x: np.ndarray) -> np.ndarray:
    """Integer outputs ``(B, elements_out)`` of the whole graph for raw inputs ``(B, elements_in)``.

    Every node applies its registry golden function; inputs are in the input port's format.
    """
    from mapper.registry import golden_vector  # noqa: PLC0415 - avoid a cycle at import

    values: dict[str, np.ndarray] = {}
    for name in nx.topological_sort(g):
        node = g.nodes[name]
        if node["op"] == "input":
            values[name] = np.asarray(x, dtype=np.int64).reshape(len(x), -1)
            continue
        src = values[next(g.predecessors(name))]
        values[name] = src if node["op"] == "output" else golden_vector(node, src)
    return values[OUTPUT]


def stream_order(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Samples ``(B, *shape)`` flattened in stream order ``(B, elements)``: images ``(C, H, W)`` as
    pixels in raster order with the channels of a pixel innermost, other shapes row-major."""
    if len(shape) == 3:
        x = x.reshape(len(x), *shape).permute(0, 2, 3, 1)
    return x.reshape(len(x), -1)


def quantize_inputs(g: nx.DiGraph, samples: torch.Tensor) -> np.ndarray:
    """Raw integers ``(B, elements)`` of float samples in the accelerator's input format, in stream
    order (an image input ``(C, H, W)`` as raster pixels with the channels innermost)."""
    t = g.nodes[INPUT]["formats"].data_out
    flat = stream_order(samples.detach().double(), g.nodes[INPUT]["out_shape"]).numpy()
    return float_to_fixed(flat, t)


def model_integers(model: nn.Module, g: nx.DiGraph, samples: torch.Tensor) -> np.ndarray:
    """The quantized PyTorch model's outputs as raw integers ``(B, elements)`` of the output format.

    Raises MappingError when an output is not an exact multiple of the format's step.
    """
    t = g.nodes[OUTPUT]["formats"].data_out
    with torch.no_grad():
        y = copy.deepcopy(model).eval()(samples).detach().double()
    y = stream_order(y, g.nodes[OUTPUT]["out_shape"]).numpy()
    scaled = y * (2.0 ** t.frac)
    ints = np.round(scaled)
    if not np.array_equal(ints, scaled):
        raise MappingError(f"the model's outputs are not multiples of 2**-{t.frac} (format {t})")
    return ints.astype(np.int64)
