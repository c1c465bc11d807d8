"""Element-wise activations (sigmoid, tanh, GELU, SiLU) through the mapper onto fixed_lut.

Capture (node, op, component, function, formats, casts), the table image the emitter writes, the
golden network against the quantized PyTorch model (integers, exact), the refusals, and two MLPs
simulated bit-exactly on Verilator under random stalls with the timing checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from common.errors import ConfigError
from eda.lint import lint_module
from eda.toolchain import BUILD_ROOT
from golden.activation import activation_table
from golden.fixed import FixedType
from mapper.components import LIBRARY
from mapper.emit.top import memory_parameter
from mapper.errors import MappingError
from mapper.flow import FlowResult, emit_design, fold_graph, map_model, run_flow
from mapper.flow import capture_graph as capture
from mapper.network import count_mismatches, golden_network, model_integers, quantize_inputs
from mapper.simulate import run_bench
from quant.config import QuantConfig
from quant.transform import quantize_model
from sim.runner import RunOptions

F8 = {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}


def _mlp(act: nn.Module, by_type: dict | None = None, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(12, 8), act, nn.Linear(8, 4))
    return quantize_model(model, QuantConfig.from_dict({"default": F8, "by_type": by_type or {}})).eval()


SIGMOID_U8 = {"sigmoid": {"data_out": [8, 8, "unsigned"]}}  # sigmoid in [0, 1]: all 8 bits fraction


def test_capture_names_the_activation_node_its_function_formats_and_cast() -> None:
    q = _mlp(nn.Sigmoid(), SIGMOID_U8)
    x = torch.randn(40, 12) * 2
    g = capture(q, x)
    node = g["sigmoid"]
    assert node.op == "activation" and node.component == "fixed_lut"
    assert node.attrs == {"function": "sigmoid"} and node.target == "aten.sigmoid.default"
    assert node.formats == q[1].formats and node.module == "1"
    assert node.in_shape == node.out_shape == (8,)
    # u8.8 out of the sigmoid is not the next linear's s8.4 in: a cast between them
    assert g.consumers("sigmoid") == ["cast_linear_1"]
    cast = g["cast_linear_1"].formats
    assert (cast.data_in, cast.data_out) == (FixedType(8, 8, False), FixedType(8, 4))
    assert np.array_equal(golden_network(g, quantize_inputs(g, x)), model_integers(q, g, x))


@pytest.mark.parametrize("act,name", [(nn.Tanh(), "tanh"), (nn.GELU(), "gelu"), (nn.SiLU(), "silu")])
def test_capture_of_each_function_and_golden_equals_model(act: nn.Module, name: str) -> None:
    q = _mlp(act, {name: {"data_in": [6, 3], "data_out": [8, 5]}}, seed=1)
    x = torch.randn(40, 12) * 3
    g = capture(q, x)
    node = g[name]
    assert (node.op, node.component, node.attrs) == ("activation", "fixed_lut", {"function": name})
    assert node.formats.data_in == FixedType(6, 3) and node.formats.data_out == FixedType(8, 5)
    assert g[f"cast_{name}"].op == "cast"  # the linear's s8.4 out into the table's s6.3 in
    assert np.array_equal(golden_network(g, quantize_inputs(g, x)), model_integers(q, g, x))


def test_fixed_lut_parameters_table_image_and_lint_clean_top(tmp_path: Path) -> None:
    q = _mlp(nn.Tanh(), {"tanh": {"data_out": [6, 4]}})
    p = fold_graph(capture(q, torch.randn(2, 12)), 2)
    node = p["tanh"]
    assert node.params == {"LANES": 4, "IN_WIDTH": 8, "OUT_WIDTH": 6}  # 8 values in 2 cycles
    assert node.cycles == 2
    design = emit_design(p, tmp_path / "d", top="tanh_top")
    path = Path(design.memories["tanh"]["TABLE_FILE"])
    words = [int(w, 16) for w in path.read_text().split()]
    table = activation_table("tanh", FixedType(8, 4), FixedType(6, 4))
    assert words == [int(v) & 0x3F for v in table] and len(words) == 256
    top = design.top_file.read_text()
    assert f".TABLE_FILE({memory_parameter('tanh', 'TABLE_FILE')})" in top.replace(" ", "")
    result = lint_module(design.top_file, design.sources)
    assert result.clean, result.messages


def test_gelu_tanh_approximation_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^layer '1': GELU\(approximate='tanh'\) is not supported[^\n]*$"):
        _mlp(nn.GELU(approximate="tanh"))


def test_over_wide_activation_input_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^layer '1': sigmoid: data_in s14.8 is 14 bits wide;[^\n]*$"):
        _mlp(nn.Sigmoid(), {"sigmoid": {"data_in": [14, 8]}})


def test_float_activation_left_in_the_model_is_refused_naming_the_node() -> None:
    q = _mlp(nn.ReLU())
    q.append(nn.SiLU())  # added after quantization: a float activation with no format
    with pytest.raises(MappingError, match=r"^node 'silu': silu in module '3' \(SiLU\) is not quantized"):
        capture(q, torch.randn(2, 12))


def _check(result: FlowResult, samples: int) -> None:
    assert not result.errors, result.errors[0][:2000]
    assert result.golden_model_mismatches == 0
    assert result.mismatches == 0
    assert result.accelerator_model_mismatches == 0
    assert result.compared == 2 * samples * result.golden.shape[1]
    predicted = result.predicted_cycles_per_inference
    assert result.measured_cycles_per_inference == predicted
    assert result.measured_latency == result.predicted_latency


@pytest.mark.sim
def test_sigmoid_mlp_bit_exact_under_stalls_and_on_time() -> None:
    q = _mlp(nn.Sigmoid(), SIGMOID_U8, seed=4)
    x = torch.randn(30, 12) * 3
    result = run_flow(q, x, BUILD_ROOT / "test_mapper" / "sigmoid_mlp", cycles=4, synth=False, top="sig_top", seed=5)
    _check(result, 30)
    lut = [n for n in result.graph if n.component == "fixed_lut"]
    assert len(lut) == 1 and lut[0].params["LANES"] == 2


@pytest.mark.sim
def test_gelu_and_tanh_mlp_bit_exact_under_stalls_at_full_throughput() -> None:
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(10, 8), nn.GELU(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 3))
    table = {"default": F8, "by_type": {"gelu": {"data_out": [8, 5]}, "tanh": {"data_in": [7, 4], "data_out": [8, 6]}}}
    q = quantize_model(model, QuantConfig.from_dict(table)).eval()
    x = torch.randn(30, 10) * 2
    result = run_flow(q, x, BUILD_ROOT / "test_mapper" / "gelu_tanh_mlp", cycles=1, synth=False, top="gt_top", seed=7)
    _check(result, 30)
    assert result.measured_cycles_per_inference == 1.0


@pytest.mark.sim
def test_a_corrupted_table_is_caught_by_the_bench(tmp_path: Path) -> None:
    """The check is real: the table image with bit 0 of one entry flipped, the entry every output
    of the first sample reads, makes the bench fail and the flow count mismatches."""
    torch.manual_seed(8)
    q = quantize_model(nn.Sequential(nn.Linear(4, 3), nn.Sigmoid()), QuantConfig.from_dict({"default": F8})).eval()
    x = torch.randn(10, 4)
    x[0] = 0.0  # the linear's outputs for sample 0 are its rounded biases
    g = map_model(q, x[:2], cycles=3)
    design = emit_design(g, tmp_path / "design", top="corrupt_lut_top")
    inputs = quantize_inputs(g, x)
    hidden = g["sigmoid"]
    first = LIBRARY["fixed_linear"].golden(g["linear"], inputs[:1])[0, 0]  # what lane 0 of sample 0 looks up
    image = Path(design.memories["sigmoid"]["TABLE_FILE"])
    words = image.read_text().split()
    idx = int(first) & ((1 << hidden.formats.data_in.width) - 1)
    words[idx] = format(int(words[idx], 16) ^ 1, f"0{len(words[idx])}x")
    image.write_text("\n".join(words) + "\n")
    expected = golden_network(g, inputs)
    run = run_bench(design, inputs, expected, RunOptions(1, len(inputs), 0.2, 0.2, 2000), "corrupt")
    assert run.error is not None and "scoreboard" in run.error
    assert count_mismatches(expected, run.outputs) > 0


@pytest.mark.sim
def test_silu_between_convolution_and_pooling_bit_exact_on_image_streams() -> None:
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.SiLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(18, 3))
    q = quantize_model(model, QuantConfig.from_dict({"default": F8})).eval()
    x = torch.randn(8, 1, 6, 6)
    result = run_flow(q, x, BUILD_ROOT / "test_mapper" / "silu_cnn", cycles=64, synth=False, top="silu_cnn_top", seed=9)
    _check(result, 8)
    silu = result.graph["silu"]
    assert silu.component == "fixed_lut" and silu.params["LANES"] == 2  # a pixel's 2 channels
