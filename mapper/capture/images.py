"""Capture handlers of views (folded away) and max pooling (conv_window + pool_max).

Streams are row-major with the innermost dimension in lanes, so a view with the batch kept only
renames data and is folded into its producer. An image stream is in (y, x, c) order, not torch's
(c, y, x): its flatten is remembered so the linear after it can permute its weight columns, and
any other reshape of an image is refused.
"""

from __future__ import annotations

from typing import Any

import torch

from mapper.capture import attention
from mapper.capture.state import CaptureState, elements_of, handles, op_name, sample_shape
from mapper.errors import MappingError
from mapper.graph import Node
from quant.config import LayerFormats
from quant.pooling import QuantAvgPool2d, QuantGlobalAvgPool

#: aten operations that only rename data when the batch dimension is kept.
VIEW_OPS = (
    "view",
    "reshape",
    "_unsafe_view",
    "flatten",
    "unflatten",
    "squeeze",
    "unsqueeze",
    "contiguous",
    "clone",
    "alias",
    "detach",
    "dropout",
    "lift_fresh_copy",
    "_to_copy",
)


@handles("getitem")
def getitem(state: CaptureState, fx: torch.fx.Node) -> None:
    """An element of a tuple result (batch-norm's output): the producer's value."""
    args = state.data_args(fx)
    if args:
        state.alias[fx.name] = state.alias[args[0].name]


@handles(*VIEW_OPS)
def view(state: CaptureState, fx: torch.fx.Node) -> None:
    """Fold a view that keeps the batch into its producer (see the module docstring); the
    attention's head split and merge are stream layouts (mapper.capture.attention)."""
    if attention.view_hook(state, fx):
        return
    args = state.data_args(fx)
    val, src_val = fx.meta.get("val"), args[0].meta.get("val") if len(args) == 1 else None
    if src_val is None or val.shape[0] != src_val.shape[0]:
        raise MappingError(
            f"node {fx.name!r}: {op_name(fx.target)} changes the batch dimension; only per-sample views map"
        )
    src = state.source(args[0])
    shape = sample_shape(fx)
    if args[0].name in state.flattened:
        if shape != (elements_of(src.out_shape),):
            raise MappingError(f"node {fx.name!r}: reshape of a flattened image to {shape} is not supported")
        state.flattened[fx.name] = state.flattened[args[0].name]
    elif len(src.out_shape) == 3 and shape != src.out_shape:
        if shape != (elements_of(src.out_shape),):
            raise MappingError(
                f"node {fx.name!r}: reshape of the image {src.out_shape} to {shape} is not supported; "
                "only a flatten before a linear"
            )
        state.flattened[fx.name] = src.out_shape
    else:
        src.out_shape = shape
    state.alias[fx.name] = src.name
    src.folded.append(fx.name)


def _pair(value: Any, name: str, node: str) -> tuple[int, int]:
    """A torch int-or-pair argument as a pair."""
    v = [int(value)] * 2 if isinstance(value, int) else [int(e) for e in value]
    if len(v) == 1:
        v = v * 2
    if len(v) != 2:
        raise MappingError(f"node {node!r}: {name} {value} is not one or two integers")
    return v[0], v[1]


def pool_attrs(fx: torch.fx.Node, in_shape: tuple[int, ...]) -> dict[str, Any]:
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
    if stride[0] != stride[1]:
        raise MappingError(
            f"node {fx.name!r}: stride {stride} differs between rows and columns; conv_window takes one value"
        )
    return {"image": tuple(in_shape), "kernel": kernel, "stride": stride[0], "padding": 0}


def _windows(state: CaptureState, fx: torch.fx.Node, node: Node) -> Node:
    """The ``<name>_window`` node (pool_window: conv_window, one window pixel per beat) in front
    of a pooling node whose ``attrs`` are set; returns it, added and fed by the pooling's input."""
    kh, kw = node.attrs["kernel"]
    c, oh, ow = node.out_shape
    window = state.new_node(fx, "pool_window")
    window.name = f"{fx.name}_window"
    window.out_shape = (oh * ow * kh * kw, c)
    window.attrs = node.attrs
    state.add(window, state.data_args(fx)[:1], fx)
    node.in_shape = window.out_shape
    return window


@handles("avg_pool2d")
def avg_pool2d(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.avg_pool2d`` of a QuantAvgPool2d -> ``<name>_window`` (pool_window, in the pooling's
    input format) then ``<name>`` (avg_pool2d: pool_avg over each KH * KW beats). Zero padding is
    counted in the window, as torch's default and as conv_window pads."""
    node = state.new_node(fx, "avg_pool2d")
    qmod = state.quantized(node, QuantAvgPool2d)
    if len(node.in_shape) != 3:
        raise MappingError(f"node {fx.name!r}: avg_pool2d on per-sample shape {node.in_shape}; pooling takes images")
    if qmod.stride[0] != qmod.stride[1] or qmod.padding[0] != qmod.padding[1]:
        raise MappingError(f"node {fx.name!r}: avg_pool2d stride / padding differ between rows and columns")
    node.attrs = {
        "image": tuple(node.in_shape),
        "kernel": qmod.kernel_size,
        "stride": qmod.stride[0],
        "padding": qmod.padding[0],
        "recip_frac": qmod.recip_frac,
    }
    node.formats = qmod.formats
    window = _windows(state, fx, node)
    window.formats = LayerFormats(qmod.formats.data_in, None, None, qmod.formats.data_in)
    state.graph.add(node)
    state.graph.connect(window.name, node.name)
    state.alias[fx.name] = node.name


@handles("adaptive_avg_pool2d")
def global_avg_pool(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.adaptive_avg_pool2d`` to 1 x 1 of a QuantGlobalAvgPool -> ``global_avg_pool``
    (pool_avg over all H * W pixels of an image, which arrive as consecutive beats)."""
    node = state.new_node(fx, "global_avg_pool")
    qmod = state.quantized(node, QuantGlobalAvgPool)
    if len(node.in_shape) != 3 or tuple(node.out_shape[1:]) != (1, 1):
        raise MappingError(f"node {fx.name!r}: only an adaptive average pooling of an image to 1 x 1 maps")
    node.attrs = {"image": tuple(node.in_shape), "recip_frac": qmod.recip_frac}
    node.formats = qmod.formats
    state.add(node, state.data_args(fx)[:1])


@handles("max_pool2d")
def max_pool2d(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.max_pool2d`` -> ``<name>_window`` (pool_window: conv_window, one window pixel per
    beat) then ``<name>`` (max_pool2d: pool_max, the maximum of each KH * KW beats), both in
    their producer's format (a max never rounds)."""
    node = state.new_node(fx, "max_pool2d")
    node.attrs = pool_attrs(fx, node.in_shape)
    window = _windows(state, fx, node)
    state.graph.add(node)
    state.graph.connect(window.name, node.name)
    state.alias[fx.name] = node.name
