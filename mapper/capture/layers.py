"""Capture handlers of the weighted layers: linear and conv2d, and the batch-norm folded into a linear."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from golden.fixed import FixedType, accumulator_width, float_to_fixed
from mapper.capture.state import CaptureState, elements_of, handles, op_name
from mapper.errors import MappingError
from mapper.graph import Node
from quant.config import LayerFormats
from quant.modules import QuantConv2d, QuantLinear


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
    if len(node.in_shape) != 1:
        raise MappingError(
            f"node {fx.name!r}: linear on per-sample shape {node.in_shape} is not supported; "
            "only (batch, features) inputs map to fixed_linear"
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
    """``aten.conv2d`` -> ``conv2d`` (fixed_conv2d) with the QuantConv2d's formats and integers."""
    node = state.new_node(fx, "conv2d")
    qmod = state.quantized(node, QuantConv2d, "")
    if len(node.in_shape) != 3:
        raise MappingError(
            f"node {fx.name!r}: conv2d on per-sample shape {node.in_shape}; fixed_conv2d takes (C, H, W) images"
        )
    node.attrs = {
        "image": tuple(node.in_shape),
        "kernel": qmod.kernel_size,
        "stride": _square(qmod.stride, "stride", fx.name),
        "padding": _square(qmod.padding, "padding", fx.name),
    }
    node.formats = qmod.formats
    node.weight, node.bias = _constants(qmod)
    state.add(node, state.data_args(fx))


def _batchnorm_params(fx: torch.fx.Node, tensors: dict[str, torch.Tensor]) -> tuple[Any, ...]:
    args = fx.args
    gamma, beta, mean, var = (tensors[a.name].detach().double().numpy() for a in args[1:5])
    eps = float(args[-2] if op_name(fx.target) == "batch_norm" else args[-1])
    return gamma, beta, mean, var, eps


def fold_batchnorm(lin: Node, bn_name: str, params: tuple[Any, ...]) -> None:
    """Fold ``y = (x - mean) / sqrt(var + eps) * gamma + beta`` into the linear node ``lin``.

    The quantized weights and bias (as reals) are scaled and shifted, then quantized again to the
    linear's weight and bias formats. A linear without bias gets one in a format with the
    accumulator's fraction bits and width. The folded integers are what the hardware and the
    golden network use; the quantized PyTorch model (float batch-norm between quantized layers)
    is then only approximately equal to them.
    """
    gamma, beta, mean, var, eps = params
    f = lin.formats
    assert f is not None and f.weight is not None and lin.weight is not None
    scale = gamma / np.sqrt(var + eps)
    w_real = lin.weight.astype(np.float64) * f.weight.scale
    if lin.bias is not None and f.bias is not None:
        b_t = f.bias
        b_real = lin.bias.astype(np.float64) * b_t.scale
    else:
        k = lin.weight.shape[1]
        width = min(32, accumulator_width(f.data_in, f.weight, k, with_bias=True))
        b_t = FixedType(width, f.data_in.frac + f.weight.frac)
        b_real = np.zeros(lin.weight.shape[0])
    lin.weight = float_to_fixed(w_real * scale[:, None], f.weight)
    lin.bias = float_to_fixed((b_real - mean) * scale + beta, b_t)
    lin.formats = LayerFormats(f.data_in, f.weight, b_t, f.data_out)
    lin.folded.append(bn_name)


@handles("batch_norm", "_native_batch_norm_legit_no_training")
def batch_norm(state: CaptureState, fx: torch.fx.Node) -> None:
    """A batch-norm right after a linear (nothing else reads the linear) is folded into it; any
    other batch-norm stays a node, which assignment refuses naming it."""
    args = state.data_args(fx)
    src = state.source(args[0]) if len(args) == 1 else None
    if src is not None and src.op == "linear" and not state.graph.consumers(src.name):
        fold_batchnorm(src, fx.name, _batchnorm_params(fx, state.tensors))
        state.alias[fx.name] = src.name
        return
    node = state.new_node(fx, op_name(fx.target))
    state.add(node, args)
