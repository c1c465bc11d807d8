"""The three implementations of a mapped network side by side, as integers.

* :func:`golden_network`: every node's golden function (its component's) in graph order;
* :func:`model_integers`: the quantized PyTorch model's outputs as raw integers;
* :func:`quantize_inputs`: float samples as the accelerator's raw input integers.

All take and return samples flattened in stream order (docs/contracts.md): row-major, images
``(C, H, W)`` as raster pixels with the channels innermost.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from golden.fixed import float_to_fixed
from mapper import components
from mapper.errors import MappingError
from mapper.graph import INPUT, OUTPUT, Graph


def golden_network(g: Graph, x: np.ndarray) -> np.ndarray:
    """Integer outputs ``(B, elements_out)`` of the whole graph for raw inputs ``(B, elements_in)``
    in the input port's format; a node of several inputs gets its operands in port order."""
    values: dict[str, np.ndarray] = {}
    for node in g:
        if node.op == "input":
            values[node.name] = np.asarray(x, dtype=np.int64).reshape(len(x), -1)
            continue
        operands = [np.asarray(values[p], dtype=np.int64) for p in g.producers(node.name)]
        if node.op == "output":
            values[node.name] = operands[0]
        else:
            out = components.get(node.component).golden(node, *operands)
            values[node.name] = np.asarray(out, dtype=np.int64)
    return values[OUTPUT]


def stream_order(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Samples ``(B, *shape)`` flattened in stream order ``(B, elements)``: images ``(C, H, W)`` as
    pixels in raster order with the channels of a pixel innermost, other shapes row-major."""
    if len(shape) == 3:
        x = x.reshape(len(x), *shape).permute(0, 2, 3, 1)
    return x.reshape(len(x), -1)


def quantize_inputs(g: Graph, samples: torch.Tensor) -> np.ndarray:
    """Raw integers ``(B, elements)`` of float samples in the accelerator's input format."""
    t = g[INPUT].formats.data_out
    flat = stream_order(samples.detach().double(), g[INPUT].out_shape).numpy()
    return float_to_fixed(flat, t)


def model_integers(model: nn.Module, g: Graph, samples: torch.Tensor) -> np.ndarray:
    """The quantized PyTorch model's outputs as raw integers ``(B, elements)`` of the output format.

    Raises MappingError when an output is not an exact multiple of the format's step.
    """
    t = g[OUTPUT].formats.data_out
    with torch.no_grad():
        y = copy.deepcopy(model).eval()(samples).detach().double()
    y = stream_order(y, g[OUTPUT].out_shape).numpy()
    scaled = y * (2.0**t.frac)
    ints = np.round(scaled)
    if not np.array_equal(ints, scaled):
        raise MappingError(f"the model's outputs are not multiples of 2**-{t.frac} (format {t})")
    return ints.astype(np.int64)


def count_mismatches(expected: np.ndarray, actual: np.ndarray) -> int:
    """Integers of ``expected`` that ``actual`` does not reproduce (missing rows count fully)."""
    n = min(len(expected), len(actual))
    missing = (len(expected) - n) * expected.shape[1]
    return int(np.count_nonzero(expected[:n] != actual[:n])) + missing
