"""Capture handlers of a transformer encoder layer: the attention's head split and merge as stream
layouts, the two matmuls, the score scale, softmax and layer norm.

Sequence tensors travel token-major: a ``(S, H)`` hidden state is ``S`` rows of ``H`` elements.
Inside the attention, torch reshapes and transposes (``q.view(B, S, NH, D).transpose(1, 2)``,
``k.transpose(-1, -2)``, ``context.transpose(1, 2).reshape(B, S, H)``) only rename data: the
stream order stays token-major. A :class:`Layout` records, for such a value, its torch per-sample
shape and the permutation that gives the stream order (``stream = value.permute(perm).flatten()``).
A matmul reads the layouts of its operands: ``Q (NH, S, D)`` streamed as ``(S, NH, D)`` times
``K^T (NH, D, S)`` streamed as ``(S, NH, D)`` is ``fixed_matmul`` with ``TRANSPOSE_B = 1`` and
leaves ``(NH, S, S)`` streamed as ``(S, NH, S)``; the probabilities times ``V (NH, S, D)`` streamed
as ``(S, NH, D)`` is ``TRANSPOSE_B = 0`` and leaves ``(S, NH, D)`` = the merged ``(S, H)``.

| aten operation | graph node | component |
| --- | --- | --- |
| view / reshape splitting or merging heads, transpose | (folded: a layout) | - |
| matmul of two activations (QuantMatMul) | ``matmul`` | fixed_matmul |
| mul by the score scale right after a scores matmul | (folded into it) | - |
| softmax over the last axis (QuantSoftmax) | ``softmax`` | fixed_softmax |
| layer_norm over the last axis (QuantLayerNorm) | ``layernorm`` | fixed_layernorm |
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from mapper.capture.state import CaptureState, elements_of, handles, sample_shape
from mapper.errors import MappingError
from quant.attention import QuantLayerNorm, QuantMatMul, QuantSoftmax


@dataclass(frozen=True)
class Layout:
    """A value whose torch per-sample ``shape`` is streamed as ``value.permute(perm)``, row-major."""

    shape: tuple[int, ...]
    perm: tuple[int, ...]

    @property
    def identity(self) -> bool:
        return self.perm == tuple(range(len(self.shape)))

    @property
    def stream_shape(self) -> tuple[int, ...]:
        return tuple(self.shape[p] for p in self.perm)


#: Layout of the first operand of a matmul, and of its output: ``(NH, M, K)`` streamed ``(M, NH, K)``.
ROWS_BY_HEAD = (1, 0, 2)
#: Layout of a transposed second operand: ``(NH, K, N)`` streamed ``(N, NH, K)`` (keys).
KEYS = (2, 0, 1)


def _layout_of(state: CaptureState, fx: torch.fx.Node) -> Layout | None:
    return state.layouts.get(fx.name)


def view_hook(state: CaptureState, fx: torch.fx.Node) -> bool:
    """Handle a view of (or into) an attention layout; False when the view is not one (the
    general view handler then folds it as before)."""
    args = state.data_args(fx)
    if len(args) != 1:
        return False
    shape = sample_shape(fx)
    lay = _layout_of(state, args[0])
    src = state.source(args[0])
    if lay is None:
        # a sequence (S, H) split into heads (S, NH, D)
        s = src.out_shape
        if len(s) == 2 and len(shape) == 3 and shape[0] == s[0] and shape[1] * shape[2] == s[1]:
            state.layouts[fx.name] = Layout(shape, (0, 1, 2))
        else:
            return False
    elif shape == lay.shape:  # contiguous, clone, dropout: the same layout
        state.layouts[fx.name] = lay
    elif not lay.identity:
        raise MappingError(
            f"node {fx.name!r}: reshape of the attention tensor {lay.shape} (streamed as {lay.stream_shape}) "
            f"to {shape} is not a stream rename; only the heads' split and merge map"
        )
    elif len(shape) == 2 and shape == (lay.shape[0], elements_of(lay.shape[1:])):
        pass  # heads merged back into (S, H): a plain sequence value again
    else:
        raise MappingError(f"node {fx.name!r}: reshape of {lay.shape} to {shape} is not supported")
    state.alias[fx.name] = src.name
    src.folded.append(fx.name)
    return True


@handles("transpose")
def transpose(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.transpose`` of an attention tensor: a new layout over the same stream."""
    args = state.data_args(fx)
    lay = _layout_of(state, args[0]) if args else None
    if lay is None:
        raise MappingError(
            f"node {fx.name!r}: transpose of a tensor outside the attention's head split is not supported"
        )
    full = len(lay.shape) + 1  # with the batch dimension
    d0, d1 = (int(d) % full for d in fx.args[1:3])
    if 0 in (d0, d1):
        raise MappingError(f"node {fx.name!r}: transpose of the batch dimension is not supported")
    a, b = d0 - 1, d1 - 1
    swap = {a: b, b: a}
    shape = list(lay.shape)
    shape[a], shape[b] = shape[b], shape[a]
    state.layouts[fx.name] = Layout(tuple(shape), tuple(swap.get(p, p) for p in lay.perm))
    state.alias[fx.name] = state.alias[args[0].name]
    state.source(args[0]).folded.append(fx.name)


@handles("matmul")
def matmul(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.matmul`` of two attention tensors (QuantMatMul) -> ``matmul`` (fixed_matmul)."""
    args = state.data_args(fx)
    node = state.new_node(fx, "matmul")
    if len(args) != 2:
        raise MappingError(f"node {fx.name!r}: matmul with a constant operand is not supported (use a linear)")
    la, lb = _layout_of(state, args[0]), _layout_of(state, args[1])
    if la is None or lb is None or len(la.shape) != 3 or la.perm != ROWS_BY_HEAD or lb.perm not in (KEYS, ROWS_BY_HEAD):
        raise MappingError(
            f"node {fx.name!r}: matmul operands must be per-head tensors (heads, rows, length) streamed "
            f"token-major, as in multi-head attention; got layouts {la} and {lb}"
        )
    heads, rows, k = la.shape
    n = lb.shape[2]
    if lb.shape[:2] != (heads, k):
        raise MappingError(f"node {fx.name!r}: matmul of {la.shape} and {lb.shape}: shapes do not agree")
    qmod = state.quantized(node, QuantMatMul, " (quant.attention.QuantMatMul)")
    f = qmod.formats
    node.formats = f
    node.in_shape, node.out_shape = (rows * heads, k), (rows * heads, n)
    node.attrs = {
        "heads": heads,
        "rows": rows,
        "k": k,
        "n": n,
        "transpose_b": lb.perm == KEYS,
        "scale": qmod.scale,
        "scale_frac": qmod.scale_frac,
        "role": qmod.role,
        "operands": [f.data_in, f.weight],
    }
    state.add(node, args)
    state.layouts[fx.name] = Layout((heads, rows, n), ROWS_BY_HEAD)


@handles("mul")
def mul(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.mul`` by a number right after a scores matmul of the same module: its scale, which
    the matmul already applies (QuantMatMul's integer scale); anything else has no component."""
    args = state.data_args(fx)
    consts = [a for a in fx.args if isinstance(a, (int, float))]
    src = state.source(args[0]) if len(args) == 1 else None
    if src is not None and src.op == "matmul" and consts and src.module == state.new_node(fx, "mul").module:
        want = src.attrs["scale"] * 2.0 ** -src.attrs["scale_frac"]
        if not math.isclose(float(consts[0]), want, rel_tol=1e-6):
            raise MappingError(f"node {fx.name!r}: scale {consts[0]} differs from the matmul's {want}")
        state.alias[fx.name] = src.name
        if args[0].name in state.layouts:
            state.layouts[fx.name] = state.layouts[args[0].name]
        src.folded.append(fx.name)
        return
    state.add(state.new_node(fx, "mul"), args)  # no component: the assign pass names it


@handles("softmax", "_softmax")
def softmax(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.softmax`` over the last axis (QuantSoftmax) -> ``softmax`` (fixed_softmax), rows of
    the stream's innermost length."""
    args = state.data_args(fx)
    node = state.new_node(fx, "softmax")
    lay = _layout_of(state, args[0])
    torch_shape = lay.shape if lay is not None else state.source(args[0]).out_shape
    dim = int(fx.args[1]) % (len(torch_shape) + 1)
    innermost = lay.perm[-1] if lay is not None else len(torch_shape) - 1
    if dim - 1 != len(torch_shape) - 1 or innermost != len(torch_shape) - 1:
        raise MappingError(f"node {fx.name!r}: softmax over axis {fx.args[1]} is not supported; only the last axis")
    qmod = state.quantized(node, QuantSoftmax, " (quant.attention.QuantSoftmax)")
    n = torch_shape[-1]
    node.formats = qmod.formats
    node.in_shape = node.out_shape = (elements_of(torch_shape) // n, n)
    node.attrs = {"n": n, "e_frac": qmod.e_frac, "r_frac": qmod.r_frac}
    state.add(node, args)
    if lay is not None:
        state.layouts[fx.name] = lay


@handles("layer_norm")
def layer_norm(state: CaptureState, fx: torch.fx.Node) -> None:
    """``aten.layer_norm`` over the last axis (QuantLayerNorm) -> ``layernorm`` (fixed_layernorm)
    with its integer gamma and beta."""
    args = state.data_args(fx)[:1]
    node = state.new_node(fx, "layernorm")
    if args[0].name in state.layouts or len(node.in_shape) != 2:
        raise MappingError(f"node {fx.name!r}: layer norm of per-sample shape {node.in_shape}; only (S, H) maps")
    qmod = state.quantized(node, QuantLayerNorm, " (quant.attention.QuantLayerNorm)")
    if tuple(int(d) for d in fx.args[1]) != (node.in_shape[-1],):
        raise MappingError(f"node {fx.name!r}: layer norm over {fx.args[1]}; only the last axis maps")
    node.formats = qmod.formats
    node.weight = qmod.int_weight().numpy().astype(np.int64)
    node.bias = qmod.int_bias().numpy().astype(np.int64)
    node.attrs = {
        "channels": qmod.n,
        "rsqrt_frac": qmod.rsqrt_frac,
        "sqrt_extra": qmod.sqrt_extra,
        "eps_int": qmod.eps_int,
    }
    state.add(node, args)
