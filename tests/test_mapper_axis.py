"""The AXI4-Stream wrapper of an emitted accelerator (mapper/emit/axis.py): lint-clean, listed in
the FuseSoC core, and (sim) in the harness under random gaps and stalls it gives the golden
network's integers in byte-aligned, sign-extended fields, with ``tlast`` on the last beat of every
inference and nowhere else."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from eda.lint import lint_module
from mapper.emit import Design
from mapper.emit.axis import byte_lane_width
from mapper.flow import capture_graph, emit_design, fold_graph
from mapper.network import golden_network, quantize_inputs
from quant.config import QuantConfig
from quant.transform import quantize_model
from sim import harness
from sim.verif.ports import PortSpec

#: 6-bit inputs (2 padding bits per byte field) and 12-bit signed outputs (sign-extended to 16).
CONFIG = {
    "default": {"data_in": [6, 2], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
    "by_type": {"relu": {"data_out": [8, 4, "unsigned"]}},
    "by_name": {"2": {"data_out": [12, 4]}},
}


def _design(tmp_path: Path, cycles: int) -> tuple[Design, np.ndarray, np.ndarray]:
    """(design, input integers, golden output integers) of a 10-8-3 MLP on 40 random inputs."""
    torch.manual_seed(0)
    q = quantize_model(
        nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).eval(), QuantConfig.from_dict(CONFIG)
    )
    x = torch.randn(40, 10, generator=torch.Generator().manual_seed(1)) * 3
    g = fold_graph(capture_graph(q, x[:2]), cycles)
    design = emit_design(g, tmp_path / "design")
    ints = quantize_inputs(g, x)
    return design, ints, golden_network(g, ints)


def _probe(design: Design, folder: Path) -> Path:
    """A test-only top that exposes the wrapper as a plain stream for the harness: the output
    carries one more lane whose bit 0 is ``m_axis_tlast``."""
    ib, ob = byte_lane_width(design.in_format.width), byte_lane_width(design.out_format.width)
    il, ol = design.in_lanes, design.out_lanes
    params = design.memory_parameters()
    head = (
        "module axis_probe #(\n" + ",\n".join(f'    parameter string {k} = ""' for k in params) + "\n) ("
        if params
        else "module axis_probe ("
    )
    over = ("#(" + ", ".join(f".{k}({k})" for k in params) + ") ") if params else ""
    text = f"""{head}
    input  logic clk,
    input  logic rst,
    input  logic [{il - 1}:0][{ib - 1}:0] data_in,
    input  logic data_in_valid,
    output logic data_in_ready,
    output logic [{ol}:0][{ob - 1}:0] data_out,
    output logic data_out_valid,
    input  logic data_out_ready
);
  {design.top}_axis {over}u_axis (
      .aclk(clk), .aresetn(!rst),
      .s_axis_tdata(data_in), .s_axis_tvalid(data_in_valid), .s_axis_tready(data_in_ready),
      .m_axis_tdata(data_out[{ol - 1}:0]), .m_axis_tvalid(data_out_valid), .m_axis_tready(data_out_ready),
      .m_axis_tlast(data_out[{ol}][0])
  );
  assign data_out[{ol}][{ob - 1}:1] = '0;
endmodule
"""
    path = folder / "axis_probe.sv"
    path.write_text(text)
    return path


def test_the_wrapper_lints_clean_and_the_core_lists_it(tmp_path: Path) -> None:
    design, _, _ = _design(tmp_path, cycles=4)
    assert design.axis_file is not None and design.axis_file.name == f"{design.top}_axis.sv"
    result = lint_module(design.axis_file, [*design.sources, design.axis_file])
    assert result.clean, result.messages
    text = design.axis_file.read_text()
    assert "s_axis_tdata" in text and "m_axis_tlast" in text and "s_axis_tlast" not in text
    assert f"rtl/{design.axis_file.name}" in design.core_file.read_text()


@pytest.mark.sim
@pytest.mark.parametrize("cycles", [4, 1])
def test_the_wrapper_streams_the_golden_integers_with_tlast(tmp_path: Path, cycles: int) -> None:
    design, ints, golden = _design(tmp_path, cycles)
    assert design.axis_file is not None
    ib, ob = byte_lane_width(design.in_format.width), byte_lane_width(design.out_format.width)
    assert (ib, ob) == (8, 16)
    beats_in, beats_out, ol = design.in_beats, design.out_beats, design.out_lanes
    spec = harness.HarnessSpec.of(
        "axis_probe",
        [*design.sources, design.axis_file, _probe(design, tmp_path)],
        inputs=[PortSpec("data_in", design.in_lanes, ib, signed=design.in_format.signed)],
        outputs=[PortSpec("data_out", ol + 1, ob, signed=design.out_format.signed)],
        beats={"data_in": beats_in, "data_out": beats_out},
        parameters=design.memory_parameters(),
        bind_components=True,
    )
    res = harness.run(spec, {"data_in": ints}, seed=5, gap_prob=0.3, stall_prob=0.3)
    got = res.outputs["data_out"].reshape(len(ints), beats_out, ol + 1)
    want = golden.reshape(len(ints), beats_out, ol)
    assert np.array_equal(got[:, :, :ol], want)
    assert (want < 0).any()  # negative outputs: the sign extension is exercised
    tlast = np.zeros((len(ints), beats_out), dtype=np.int64)
    tlast[:, -1] = 1
    assert np.array_equal(got[:, :, ol], tlast)
