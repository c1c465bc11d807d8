"""Capture handlers of the weighted layers: linear, conv2d (dense or depthwise) and an unfolded batch-norm
(per-channel affine)."""

from __future__ import annotations

import numpy as np
import torch

from mapper.capture.state import CaptureState, elements_of, handles
from mapper.errors import MappingError
from quant.modules import QuantConv2d, QuantLinear
from quant.norm import QuantBatchNorm


def image_order(w: np.ndarray, image: tuple[int, ...]) -> np.ndarray:
    """A linear's weight ``(N, C*H*W)`` for torch's flatten order (c, y, x) with its columns
    permuted to the stream order of an image (y, x, c): exact, integers only."""
    c, h, wd = image
    return np.ascontiguousarray(w.reshape(-1, c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1))


def _constants(qmod: QuantLinear | QuantConv2d) -> tuple[np.ndarray, np.ndarray | None]:
    bias = qmod.int_bias()
    return qmod.int_weight().numpy().astype(np.int64), None if bias is None else bias.numpy().astype(np.int64)


@handles("linear")
def linear(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.linear`` -> ``linear`` with the QuantLinear's formats and integers. After the flatten
    of an image the weight columns are permuted from torch's (c, y, x) to the stream's (y, x, c)."""
    args = state.data_args(fx)
    node = state.new_node(fx, "linear")
    qmod = state.quantized(node, QuantLinear, "")
    image = state.flattened.get(args[0].name)
    if image is not None:
        node.in_shape = (elements_of(node.in_shape),)
    if len(node.in_shape) not in (1, 2):
        raise MappingError(
            f"node {fx.name!r}: linear on per-sample shape {node.in_shape} is not supported; "
            "only (batch, features) and sequence (batch, tokens, features) inputs map to fixed_linear"
        )
    node.formats = qmod.formats
    node.weight, node.bias = _constants(qmod)
    if image is not None:
        node.weight = image_order(node.weight, image)
    state.add(node, args)


def _square(pair: tuple[int, int], name: str, node: str) -> int:
    """The one value conv_window takes for rows and columns."""
    if pair[0] != pair[1]:
        raise MappingError(
            f"node {node!r}: {name} {pair} differs between rows and columns; conv_window takes one value"
        )
    return pair[0]


@handles("conv2d")
def conv2d(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.conv2d`` -> ``conv2d`` (fixed_conv2d) with the QuantConv2d's formats and integers, or
    ``dwconv2d`` (fixed_dwconv2d) for a depthwise convolution (``groups`` = input channels =
    output channels; its weight stays ``(C, 1, KH, KW)``). Other grouped convolutions are refused
    naming the node."""
    node = state.new_node(fx, "conv2d")
    qmod = state.quantized(node, QuantConv2d, "")
    if len(node.in_shape) != 3:
        raise MappingError(
            f"node {fx.name!r}: conv2d on per-sample shape {node.in_shape}; fixed_conv2d takes (C, H, W) images"
        )
    if qmod.groups != 1:
        if not qmod.groups == qmod.in_channels == qmod.out_channels:
            raise MappingError(
                f"node {fx.name!r}: a convolution of {qmod.in_channels} -> {qmod.out_channels} channels in "
                f"{qmod.groups} groups is not supported; groups must be 1 or depthwise (groups = in = out channels)"
            )
        node.op = "dwconv2d"
    node.attrs = {
        "image": tuple(node.in_shape),
        "kernel": qmod.kernel_size,
        "stride": _square(qmod.stride, "stride", fx.name),
        "padding": _square(qmod.padding, "padding", fx.name),
    }
    node.formats = qmod.formats
    node.weight, node.bias = _constants(qmod)
    state.add(node, state.data_args(fx))


@handles("batch_norm", "_native_batch_norm_legit_no_training")
def batch_norm(state: CaptureState, fx: torch.fx.Node) -> None:
    """A batch-norm the quantization pass could not fold (``QuantBatchNorm``) -> ``affine``
    (fixed_affine) with its integer per-channel scales and shifts. A float batch-norm left in the
    model has no number format and is refused naming the node."""
    node = state.new_node(fx, "affine")
    qmod = state.quantized(node, QuantBatchNorm, " (quantize_model folds a batch-norm after a conv / linear)")
    node.formats = qmod.formats
    node.weight = qmod.int_scale().numpy().astype(np.int64)
    node.bias = qmod.int_shift().numpy().astype(np.int64)
    node.attrs = {"channels": int(node.weight.shape[0])}
    state.add(node, state.data_args(fx)[:1])
