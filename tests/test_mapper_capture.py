"""Graph capture: torch.export of quantized models into the mapper's dataflow graph (the passes up to folding).

No simulation here: shapes, formats, weights, folding of view / batch-norm, cast insertion, the
golden network against the quantized PyTorch model (integers, exact), and the errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from golden.fixed import FixedType
from mapper.errors import MappingError, UnsupportedOperationError
from mapper.flow import capture_graph as capture
from mapper.network import golden_network, model_integers, quantize_inputs
from quant.config import QuantConfig
from quant.modules import QuantLinear
from quant.transform import quantize_model

BASE = {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}


def _quantized(model: nn.Module, by_name: dict | None = None, by_type: dict | None = None) -> nn.Module:
    table: dict = {"default": BASE}
    if by_name:
        table["by_name"] = by_name
    if by_type:
        table["by_type"] = by_type
    return quantize_model(model, QuantConfig.from_dict(table))


def test_mlp_nodes_shapes_formats_and_weights() -> None:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4, bias=False))
    q = _quantized(
        model, by_type={"relu": {"data_out": [8, 4, "unsigned"]}}, by_name={"3": {"data_in": [8, 4, "unsigned"]}}
    )
    g = capture(q, torch.randn(3, 4, 4))
    order = [g[n].op for n in ["data_in", "linear", "relu", "linear_1", "data_out"]]
    assert order == ["input", "linear", "relu", "linear", "output"]
    assert len(g) == 5  # flatten folded, no cast: relu's u8.4 output is linear_1's input
    assert "flatten" in g["data_in"].folded
    assert g["data_in"].in_shape == (4, 4) and g["data_in"].out_shape == (16,)
    lin = g["linear"]
    assert lin.formats == q[1].formats and lin.module == "1"
    assert np.array_equal(lin.weight, q[1].int_weight().numpy())
    assert np.array_equal(lin.bias, q[1].int_bias().numpy())
    assert g["linear_1"].bias is None
    assert g["data_in"].formats.data_out == FixedType(8, 4)
    assert g["data_out"].formats.data_in == FixedType(8, 4)
    assert {g[n].component for n in ("linear", "relu", "linear_1")} == {"fixed_linear", "fixed_relu"}


def test_cast_inserted_where_formats_differ() -> None:
    model = nn.Sequential(nn.Linear(6, 5), nn.Linear(5, 3))
    q = _quantized(model, by_name={"1": {"data_in": [6, 2]}})
    g = capture(q, torch.randn(2, 6))
    cast = g["cast_linear_1"]
    assert cast.op == "cast" and cast.component == "fixed_cast"
    assert (cast.formats.data_in, cast.formats.data_out) == (FixedType(8, 4), FixedType(6, 2))
    assert g.consumers("linear") == ["cast_linear_1"]
    assert g.consumers("cast_linear_1") == ["linear_1"]


@pytest.mark.parametrize(
    "by_name",
    [
        {},
        {
            "1": {"weight": [4, 3], "data_out": [12, 6]},
            "2": {"data_in": [12, 6], "data_out": [5, 2, "unsigned"]},
            "3": {"data_in": [5, 2, "unsigned"], "weight": [16, 12], "bias": [16, 10], "data_out": [16, 8]},
        },
        {
            "1": {"data_in": [4, 1], "weight": [4, 2], "bias": [4, 2], "data_out": [4, 1]},
            "3": {"data_in": [10, 3], "weight": [6, 5], "bias": [12, 8], "data_out": [6, 2]},
        },
    ],
    ids=["8bit", "mixed-4-to-16", "narrow"],
)
def test_golden_network_equals_quantized_model_integers(by_name: dict) -> None:
    torch.manual_seed(2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 10), nn.ReLU(), nn.Linear(10, 5))
    q = _quantized(model, by_name=by_name)
    x = torch.randn(64, 3, 4) * 3
    g = capture(q, x[:2])
    golden = golden_network(g, quantize_inputs(g, x))
    ints = model_integers(q, g, x)
    assert golden.shape == (64, 5)
    assert np.array_equal(golden, ints)
    assert len(np.unique(golden)) > 3  # the data really exercise the network


def test_batchnorm_after_linear_is_folded_at_quantization_and_golden_equals_the_model() -> None:
    """quantize_model folds the batch-norm into the linear before quantizing it, so the graph has
    no batch-norm, its integers are the folded layer's, and the golden network equals the
    quantized model bit for bit (no float batch-norm between quantized layers)."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(8, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))
    bn = model[1]
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(6) * 0.2)
        bn.running_var.copy_(torch.rand(6) + 0.5)
        bn.weight.copy_(torch.rand(6) + 0.5)
        bn.bias.copy_(torch.randn(6) * 0.1)
    model.eval()
    q = _quantized(model)
    assert isinstance(q[1], nn.Identity) and isinstance(q[0], QuantLinear)
    x = torch.randn(40, 8) * 2
    g = capture(q, x[:2])
    assert [n.op for n in g] == ["input", "linear", "relu", "linear", "output"]
    assert np.array_equal(g["linear"].weight, q[0].int_weight().numpy())
    assert np.array_equal(g["linear"].bias, q[0].int_bias().numpy())
    with torch.no_grad():
        folded = (model[0](x) - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    assert torch.allclose(q[0].to_float()(x), folded, atol=1e-5)  # float twin vs float model
    assert np.array_equal(golden_network(g, quantize_inputs(g, x)), model_integers(q, g, x))


def test_a_float_batchnorm_left_in_the_model_is_refused_naming_the_node() -> None:
    q = _quantized(nn.Sequential(nn.Linear(4, 4), nn.ReLU()))
    q.append(nn.BatchNorm1d(4).eval())  # added after quantization: a float batch-norm with no format
    with pytest.raises(MappingError, match=r"^node 'batch_norm': batch_norm in module '2' \(BatchNorm1d\) is not"):
        capture(q, torch.randn(2, 4))


def test_unsupported_operation_names_node_op_and_supported_set() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.ELU(), nn.Linear(4, 2))
    q = _quantized(model)
    with pytest.raises(
        UnsupportedOperationError,
        match=r"node 'elu': operation 'elu' .*supported: activation, add, affine, avg_pool2d, cast, conv2d, dwconv2d, "
        r"global_avg_pool, layernorm, linear, matmul, max_pool2d, relu, softmax",
    ):
        capture(q, torch.randn(2, 4))


def test_float_linear_left_in_a_quantized_model_is_named() -> None:
    q = _quantized(nn.Sequential(nn.Linear(4, 4)))
    q.append(nn.Linear(4, 2))  # added after quantization: a float layer
    with pytest.raises(MappingError, match=r"linear in module '1' \(Linear\) is not quantized"):
        capture(q, torch.randn(2, 4))


class _Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x) + self.b(x)


def test_a_branching_graph_gets_a_fork_and_an_exact_add() -> None:
    """a(x) + b(x): the input is forked to both linears, the add keeps their formats and outputs
    their exact sum (s8.4 + s8.4 -> s9.4), and the golden network equals the quantized model."""
    torch.manual_seed(4)
    q = _quantized(_Branchy())
    x = torch.randn(64, 4) * 6  # large enough that both linears saturate now and then
    g = capture(q, x[:2])
    fork = g["fork_data_in"]
    assert (fork.op, fork.component, fork.attrs["consumers"]) == ("fork", "stream_fork", 2)
    assert g.consumers("fork_data_in") == ["linear", "linear_1"]
    add = g["add"]
    assert add.component == "fixed_add" and g.producers("add") == ["linear", "linear_1"]
    assert add.attrs["operands"] == [FixedType(8, 4), FixedType(8, 4)] and add.formats.data_out == FixedType(9, 4)
    ints = model_integers(q, g, x)
    assert np.array_equal(golden_network(g, quantize_inputs(g, x)), ints)
    assert ints.max() > 127 or ints.min() < -128  # the 9th bit is used: no saturation at the add


class _Broadcast(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x) + self.b(x)


def test_a_residual_of_mismatched_shapes_is_refused_in_one_line() -> None:
    q = _quantized(_Broadcast())
    with pytest.raises(MappingError, match=r"^node 'add': add of per-sample shapes \(4,\) and \(1,\)") as err:
        capture(q, torch.randn(2, 4))
    assert "\n" not in str(err.value)


class _AddConstant(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x) + 1.0


def test_an_add_of_a_constant_is_refused_naming_the_node() -> None:
    with pytest.raises(MappingError, match=r"^node 'add': add with a constant is not supported"):
        capture(_quantized(_AddConstant()), torch.randn(2, 4))
