"""Folding (parallelism per node, FIFOs, lane adapters), the component models and emission, without simulation.

The emitted top is linted with Verilator -Wall (a second or two), the memory images are checked
against the quantized weights, and the report against the graph's predictions.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from eda.lint import lint_module
from eda.toolchain import tool_env
from golden.fixed import FixedType
from mapper.components import LIBRARY, for_op, supported_ops
from mapper.flow import EMIT, FLOW, MAP, PASSES, SIM, capture_graph, emit_design, fold_graph
from mapper.graph import Fold, Node
from mapper.passes.folding import target_cycles
from quant.config import LayerFormats, QuantConfig
from quant.transform import quantize_model
from sim.memimage import linear_weight_words

CONFIG = {
    "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
    "by_type": {"relu": {"data_out": [8, 4, "unsigned"]}},
}


@pytest.fixture(scope="module")
def graph():  # a 64-32-10 MLP with a ReLU (unsigned output, so a cast follows)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    q = quantize_model(model, QuantConfig.from_dict(CONFIG))
    return capture_graph(q, torch.randn(2, 8, 8))


def _linears(h):
    return [n for n in h.names() if h[n].op == "linear"]


@pytest.mark.parametrize("target", [4096, 640, 100, 64, 20, 5, 2, 1])
def test_every_node_meets_the_target_with_legal_lanes(graph, target: int) -> None:
    h = fold_graph(graph, target)
    assert h.info.predicted_cycles == max(h[n].cycles for n in h.names())
    assert h.info.predicted_cycles <= target  # every target >= 1 is reachable for an MLP
    for n in _linears(h):
        node, fold = h[n], h[n].fold
        n_out, k = node.weight.shape
        assert k % fold.in_lanes == 0 and n_out % fold.out_lanes == 0
        assert node.cycles == (n_out // fold.out_lanes) * (k // fold.in_lanes)
        assert node.params["IN_PAR"] == fold.in_lanes and node.params["OUT_PAR"] == fold.out_lanes
    for u, v, _ in h.edges():  # the streams agree on lanes; a resize joins different ones
        a, b = h[u].fold.out_lanes, h[v].fold.in_lanes
        assert a == b, f"{u} -> {v}: {a} lanes into {b}"
        if h[v].op == "resize":
            r = h[v].fold
            assert r.in_lanes != r.out_lanes and max(r.in_lanes, r.out_lanes) % min(r.in_lanes, r.out_lanes) == 0


def test_higher_throughput_means_fewer_cycles_and_more_multipliers(graph) -> None:
    targets = [4096, 256, 64, 16, 4, 1]
    plans = [fold_graph(graph, t) for t in targets]
    cycles = [p.info.predicted_cycles for p in plans]
    dsps = [p.info.resources.dsp for p in plans]
    assert cycles == sorted(cycles, reverse=True) and len(set(cycles)) == len(cycles)
    assert dsps == sorted(dsps) and dsps[-1] == 64 * 32 + 32 * 10  # one vector per cycle: every MAC in parallel
    assert cycles[-1] == 1


def test_pipeline_is_balanced(graph) -> None:
    for target in (256, 64, 16):
        p = fold_graph(graph, target)
        lin = [p[n].cycles for n in _linears(p)]
        assert min(lin) * 2 >= p.info.predicted_cycles, f"target {target}: layer cycles {lin}"


@pytest.mark.parametrize("target", [4096, 640, 100, 64, 20])
def test_a_fifo_in_front_of_folded_layers_holds_at_most_one_input_vector(graph, target: int) -> None:
    """Every linear that replays its vector gets a FIFO, sized from the schedule: at least 2
    entries, at most one whole input vector (what a producer offering a beat every cycle needs)."""
    h = fold_graph(graph, target)
    for n in _linears(h):
        src = h.producer(n)
        fold = h[n].fold
        k = h[n].weight.shape[1]
        groups = h[n].weight.shape[0] // fold.out_lanes
        if h[src].op == "slice" or groups == 1:  # the first linear: behind the input's slice
            assert h[src].op != "fifo" and (h[src].op != "slice" or h.producer(src) == "data_in")
        else:
            assert h[src].op == "fifo"
            assert 2 <= h[src].params["DEPTH"] <= max(2, k // fold.in_lanes)


def test_latency_prediction_follows_beat_times(graph) -> None:
    p = fold_graph(graph, 1)
    # fully parallel: the input's register slice (1), linear 64 -> 32 (pipeline 7 + ceil(log2 64)
    # adder levels), relu and cast (requantizer register + skid buffer each), linear 32 -> 10
    # (7 + ceil(log2 32))
    assert p.info.predicted_latency == 1 + (7 + 6) + 2 + 2 + (7 + 5)
    assert [n.op for n in p] == ["input", "slice", "linear", "relu", "cast", "linear", "output"]


def test_the_flow_runs_every_registered_pass_once() -> None:
    assert sorted(FLOW) == sorted(PASSES) and len(set(FLOW)) == len(FLOW)
    assert FLOW[: len(MAP)] == MAP and set(EMIT) <= set(FLOW) and set(SIM) <= set(FLOW)


def test_target_arguments_are_checked() -> None:
    assert target_cycles(throughput=1 / 64) == 64
    assert target_cycles(cycles=10) == 10
    assert target_cycles(throughput=0.3) == 4
    with pytest.raises(ValueError, match="exactly one"):
        target_cycles()
    with pytest.raises(ValueError, match=r"throughput must be in \(0, 1\]"):
        target_cycles(throughput=2.0)


def test_components_list_ops_and_costs() -> None:
    assert supported_ops() == [
        "activation",
        "add",
        "affine",
        "avg_pool2d",
        "cast",
        "conv2d",
        "dwconv2d",
        "global_avg_pool",
        "layernorm",
        "linear",
        "matmul",
        "max_pool2d",
        "relu",
        "softmax",
    ]
    assert for_op("linear", "x") is LIBRARY["fixed_linear"]
    fmt = LayerFormats(FixedType(8, 4), FixedType(8, 6), None, FixedType(8, 4))
    node = Node("l", "linear", formats=fmt, weight=np.zeros((6, 4), dtype=np.int64))
    entry = LIBRARY["fixed_linear"]
    assert entry.cycles(node, Fold(2, 3)) == 2 * 2
    # groups leave 7 + ceil(log2(IN_PAR=2)) = 8 cycles after their last step, C = 2 steps apart
    assert entry.beat_times(node, Fold(2, 3), [0, 1]) == [1 + 8, 1 + 8 + 2]
    assert entry.input_buffer(node, Fold(4, 6)) == 0 and entry.input_buffer(node, Fold(1, 1)) == 4


def test_emitted_top_lints_clean_and_memories_match(graph, tmp_path: Path) -> None:
    h = fold_graph(graph, 64)  # a folding with every component (which one does follows the costs)
    ops = {n.op for n in h}
    assert ops == {"input", "slice", "linear", "relu", "cast", "fifo", "resize", "output"}
    design = emit_design(h, tmp_path / "design", top="mlp_top")
    result = lint_module(design.top_file, design.sources)
    assert result.clean, result.messages
    text = design.top_file.read_text()
    assert "module mlp_top #(" in text and text.count("fixed_linear #(") == 2
    assert design.memory_parameters() == {
        f"{n.upper()}_{k}": path for n, files in design.memories.items() for k, path in files.items()
    }
    for param, path in design.memory_parameters().items():  # each image is a top-level parameter
        rel = Path(path).relative_to(design.out_dir).as_posix()  # named relative to the folder
        assert f'parameter string {param} = "{rel}"' in text and f"({param})" in text
    for n in _linears(h):
        fold = h[n].fold
        words = linear_weight_words(h[n].weight, fold.in_lanes, fold.out_lanes, 8)
        image = Path(design.memories[n]["WEIGHTS_FILE"]).read_text().split()
        assert [int(w, 16) for w in image] == words
    report = json.loads((design.out_dir / "report.json").read_text())
    assert report["predicted"]["cycles_per_inference"] == h.info.predicted_cycles
    assert [r["node"] for r in report["nodes"]] == h.names()
    est = report["estimate"]
    assert est["dsp"] == sum(n.resources.dsp for n in h) > 0
    core = design.core_file.read_text()
    assert "toplevel: mlp_top" in core and "verilator_options: [-Wall]" in core
    assert all(f"- {s.relative_to(design.out_dir).as_posix()}" in core for s in design.sources)
    assert (design.out_dir / "report.md").read_text().startswith("# Accelerator `mlp_top`")
    assert math.isclose(report["estimate"]["lut"], h.info.resources.lut)


def test_emitted_top_with_a_lint_problem_is_caught(graph, tmp_path: Path) -> None:
    design = emit_design(fold_graph(graph, 64), tmp_path / "design")
    design.top_file.write_text(design.top_file.read_text().replace("endmodule", "  logic bait;\nendmodule"))
    result = lint_module(design.top_file, design.sources)
    assert not result.clean and any("UNUSEDSIGNAL" in m for m in result.messages)


@pytest.mark.sim
def test_emitted_fusesoc_core_lint_target_passes(graph, tmp_path: Path) -> None:
    design = emit_design(fold_graph(graph, 64), tmp_path / "design", top="core_top")
    work = tmp_path / "work"
    work.mkdir()
    exe = str(Path(sys.executable).parent / "fusesoc")
    env = tool_env(dict(os.environ))

    def fusesoc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], cwd=work, env=env, capture_output=True, text=True, check=False, timeout=300)

    assert fusesoc("library", "add", "generated", str(design.out_dir)).returncode == 0
    proc = fusesoc("run", "--target=lint", "chop:generated:core_top")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    config = next((work / "build").rglob("lint-verilator/config.mk")).read_text()
    assert "VERILATOR_OPTIONS := -Wall" in config and "TOP_MODULE        := core_top" in config
