"""End to end: quantized MLPs are mapped, emitted, simulated on Verilator with the pyuvm bench
(random input gaps and output stalls) and compared integer by integer with the golden network and
the quantized PyTorch model; measured cycles per inference are checked against the prediction.

The default suite runs two small networks (one at two throughput targets, and synthesized); a
three-point throughput sweep and a wide sweep over depths, widths and bit widths are marked slow.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from eda.toolchain import BUILD_ROOT
from golden.fixed import FixedType
from mapper.capture import float_twin
from mapper.flow import MAP, FlowContext, FlowResult, emit_design, map_model, run_flow, run_passes
from mapper.network import count_mismatches, golden_network, quantize_inputs
from mapper.simulate import run_bench
from quant.config import QuantConfig
from quant.transform import quantize_model
from sim.runner import RunOptions


def mlp(widths: list[int], bias: list[bool], formats: list[dict], relu_out: list[list]) -> nn.Module:
    """A quantized MLP: ``widths[0]`` inputs, a Linear (+ ReLU except after the last) per step.

    ``formats[i]`` holds layer i's data_in / weight / bias / data_out; ``relu_out[i]`` the data_out
    of the ReLU after layer i (its data_in is the layer's data_out).
    """
    layers: list[nn.Module] = []
    by_name: dict[str, dict] = {}
    for i, (k, n) in enumerate(zip(widths, widths[1:])):
        by_name[str(len(layers))] = formats[i]
        layers.append(nn.Linear(k, n, bias=bias[i]))
        if i < len(widths) - 2:
            by_name[str(len(layers))] = {"data_in": formats[i]["data_out"], "data_out": relu_out[i]}
            layers.append(nn.ReLU())
    default = {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}
    return quantize_model(nn.Sequential(*layers), QuantConfig.from_dict({"default": default, "by_name": by_name}))


def check(result: FlowResult, samples: int) -> None:
    """Bit-exact everywhere; measured cycles per inference and latency equal the predictions."""
    assert not result.errors, result.errors[0][:2000]
    assert result.golden_model_mismatches == 0
    assert result.mismatches == 0
    assert result.accelerator_model_mismatches == 0
    assert result.compared == 2 * samples * result.golden.shape[1]
    assert result.outputs.shape == result.golden.shape
    predicted = result.predicted_cycles_per_inference
    assert result.measured_cycles_per_inference == predicted
    assert result.measured_latency == result.predicted_latency


F8 = {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}


@pytest.mark.sim
def test_one_hidden_layer_bit_exact_timed_synthesized_and_faster_at_full_throughput() -> None:
    torch.manual_seed(10)
    q = mlp([16, 8, 4], [True, True], [F8, F8], [[8, 4, "unsigned"]])
    x = torch.randn(30, 16) * 2
    out = BUILD_ROOT / "test_mapper" / "one_hidden"  # a fixed folder: re-runs reuse its Verilator builds
    with torch.no_grad():  # labels: the float model's classes, so its accuracy is exactly 1
        labels = float_twin(q)(x).argmax(-1)
    folded = run_flow(q, x, out, cycles=16, top="mlp1_top", seed=3, labels=labels)
    check(folded, 30)
    acc = folded.accuracy
    assert acc is not None and acc["float"] == 1.0
    hits = int((torch.tensor(folded.model).argmax(-1) == labels).sum())
    assert acc["accelerator"] == acc["quantized"] == hits / 30
    synth = folded.synthesis
    assert synth is not None and synth["lut"] > 0 and synth["ff"] > 0
    assert synth["dsp"] == folded.graph.info.resources.dsp  # one DSP48E1 per multiplier, as estimated
    report = (out / "report.md").read_text()
    assert f"| Yosys synth_xilinx | {synth['lut']} | {synth['ff']} | {synth['dsp']} |" in report
    assert "| mismatches | 0 | 0 |" in report and f"- accelerator: {acc['accelerator']}" in report
    # one input vector per cycle: every multiply-accumulate in parallel
    parallel = run_flow(q, x, out.with_name("one_hidden_parallel"), cycles=1, synth=False, seed=3)
    check(parallel, 30)
    assert folded.measured_cycles_per_inference == 16.0 and parallel.measured_cycles_per_inference == 1.0


@pytest.mark.sim
def test_two_hidden_layers_mixed_bit_widths_without_some_biases(tmp_path: Path) -> None:
    torch.manual_seed(11)
    formats = [
        {"data_in": [6, 3], "weight": [4, 3], "bias": [8, 6], "data_out": [12, 6]},
        {"data_in": [5, 2, "unsigned"], "weight": [16, 12], "bias": [16, 10], "data_out": [10, 5]},
        {"data_in": [10, 4], "weight": [6, 4], "bias": [10, 6], "data_out": [16, 8]},
    ]
    q = mlp([24, 12, 6, 3], [True, False, True], formats, [[5, 2, "unsigned"], [10, 4, "unsigned"]])
    x = torch.randn(40, 24) * 2
    result = run_flow(q, x, tmp_path / "design", cycles=24, synth=False, seed=4)
    check(result, 40)
    ops = [n.op for n in result.graph]
    assert ops.count("linear") == 3 and ops.count("relu") == 2


@pytest.mark.slow
@pytest.mark.sim
def test_raising_the_throughput_lowers_measured_cycles_down_to_one(tmp_path: Path) -> None:
    torch.manual_seed(12)
    q = mlp([12, 6, 3], [True, True], [F8, F8], [[8, 4]])
    x = torch.randn(20, 12) * 2
    measured = []
    for cycles in (72, 12, 1):
        result = run_flow(q, x, tmp_path / f"t{cycles}", cycles=cycles, synth=False, seed=5)
        check(result, 20)
        measured.append(result.measured_cycles_per_inference)
    assert measured[0] > measured[1] > measured[2] == 1.0


def _random_case(seed: int) -> tuple[nn.Module, int, int]:
    """A random MLP (1..4 hidden layers, widths 2..40, formats 4..16 bits) and a target."""
    rng = random.Random(seed)
    depth = rng.randint(1, 4)
    widths = [rng.randint(2, 40) for _ in range(depth + 2)]

    def fmt(signed: bool = True) -> list:
        width = rng.randint(4, 16)
        frac = rng.randint(0, width - 1)
        return [width, frac] if signed else [width, frac, "unsigned"]

    formats, relu_out = [], []
    prev_out = fmt()
    for _ in range(depth + 1):
        data_in, weight = (prev_out if rng.random() < 0.5 else fmt()), fmt()
        bias_w = rng.randint(4, 16)
        bias = [bias_w, rng.randint(0, min(bias_w - 1, data_in[1] + weight[1]))]
        out = fmt()
        formats.append({"data_in": data_in, "weight": weight, "bias": bias, "data_out": out})
        prev_out = fmt(signed=rng.random() < 0.3)
        relu_out.append(prev_out)
    bias_flags = [rng.random() < 0.7 for _ in range(depth + 1)]
    torch.manual_seed(seed)
    q = mlp(widths, bias_flags, formats, relu_out)
    total_macs = sum(a * b for a, b in zip(widths, widths[1:]))
    target = rng.choice([1, 2, max(1, total_macs // 64), max(1, total_macs // 8), total_macs])
    return q, widths[0], target


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("seed", range(12))
def test_random_mlps_map_and_match(seed: int, tmp_path: Path) -> None:
    q, inputs, target = _random_case(seed)
    x = torch.randn(25, inputs) * 3
    result = run_flow(q, x, tmp_path / "design", cycles=target, synth=False, seed=seed)
    check(result, 25)


@pytest.mark.sim
def test_a_corrupted_weight_is_caught_by_the_bench(tmp_path: Path) -> None:
    """The check is real: one flipped weight bit in the emitted image makes the bench fail and
    the flow count mismatching output integers."""
    torch.manual_seed(13)
    q = mlp([6, 4, 2], [True, True], [F8, F8], [[8, 4]])
    x = torch.randn(12, 6) * 2
    g = map_model(q, x[:2], cycles=4)
    design = emit_design(g, tmp_path / "design", top="corrupt_top")
    image = Path(design.memories["linear"]["WEIGHTS_FILE"])
    words = image.read_text().split()
    words[0] = format(int(words[0], 16) ^ (1 << 6), f"0{len(words[0])}x")  # weight 0, bit 6
    image.write_text("\n".join(words) + "\n")
    inputs = quantize_inputs(g, x)
    expected = golden_network(g, inputs)
    run = run_bench(design, inputs, expected, RunOptions(1, len(inputs), 0.2, 0.2, 2000), "corrupt")
    assert run.error is not None and "scoreboard" in run.error
    assert count_mismatches(expected, run.outputs) > 0
    assert FixedType(8, 6) == g["linear"].formats.weight  # the flipped bit is a value bit


@pytest.mark.sim
def test_a_corrupted_weight_is_named_and_its_failing_window_dumped(tmp_path: Path) -> None:
    """The harness (the default bench) on a design whose weight image has one flipped bit: the
    result names the first differing integer (inference, output index, expected, actual), and with
    waves the checking run is repeated with a VCD dump of the cycles around it."""
    torch.manual_seed(13)
    q = mlp([6, 4, 2], [True, True], [F8, F8], [[8, 4]])
    x = torch.randn(12, 6) * 2
    ctx = FlowContext(
        model=q, example=x[:2], target_cycles=4, out_dir=tmp_path / "d", top="bad_top", samples=x, waves=True
    )
    g = run_passes((*MAP, "emit"), ctx)
    assert ctx.design is not None
    image = Path(ctx.design.memories["linear"]["WEIGHTS_FILE"])
    words = image.read_text().split()
    words[0] = format(int(words[0], 16) ^ (1 << 6), f"0{len(words[0])}x")  # weight 0, bit 6
    image.write_text("\n".join(words) + "\n")
    run_passes(("simulate",), ctx, g)
    sim = ctx.simulation
    assert sim is not None and sim.bench == "harness" and sim.mismatches > 0
    i, k = next((int(a), int(b)) for a, b in zip(*np.nonzero(sim.golden != sim.outputs)))
    assert sim.mismatch == f"inference {i}, output {k}: expected {sim.golden[i, k]}, got {sim.outputs[i, k]}"
    assert sim.waves is not None and sim.waves.endswith("failure.vcd")
    vcd = Path(sim.waves).read_text()
    times = [int(t) for t in re.findall(r"^#(\d+)$", vcd, re.M)]
    assert "$enddefinitions" in vcd and "u_dut" in vcd and len(times) > 20  # a window of cycles, not the run
    assert "$timescale 1ps $end" in vcd.replace("\n", " ").replace("  ", " ")  # a 10 ns clock: 10,000 per cycle
    assert (max(times) - min(times)) // 10_000 <= 400 + 60 + 1  # the window around the failure at most
    assert sim.simulated_cycles > 0 and sim.cycles_per_second > 0


@pytest.mark.sim
def test_replay_fifo_sized_from_the_schedule_keeps_the_rate_and_a_small_one_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The FIFO in front of a replaying linear is sized from the beat schedule (the smallest with
    which the producer is never stalled and the linear never waits): well below the old bound of
    one whole input vector (32), and the design still runs at the predicted rate; one entry
    shorter it measurably does not."""
    from mapper.passes import folding

    model = mlp([64, 32, 10], [True, True], [F8, F8], [[8, 4, "unsigned"]])
    x = torch.randn(24, 64) * 2
    sized = run_flow(model, x, tmp_path / "sized", cycles=64, synth=False, seed=4)
    fifos = [n for n in sized.graph if n.op == "fifo"]
    assert len(fifos) == 1 and sized.graph[sized.graph.consumers(fifos[0].name)[0]].fold.in_lanes == 1
    # The first layer's skid_buffer, the split to one lane, the ReLU and the cast in front of the
    # FIFO hold refused beats too, so the FIFO needs far less than the vector.
    depth = fifos[0].attrs["depth"]
    assert 1 < depth < 16
    check(sized, len(x))
    monkeypatch.setattr(folding, "sized_fifo_depth", lambda g, f, runs, d: depth - 1)
    short = run_flow(model, x, tmp_path / "short", cycles=64, synth=False, seed=4)
    assert not short.errors and short.mismatches == 0
    assert short.measured_cycles_per_inference > short.predicted_cycles_per_inference
