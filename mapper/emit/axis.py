"""An AXI4-Stream wrapper around an emitted top, so the accelerator drops into a Vivado block
design or a LiteX SoC.

``rtl/<top>_axis.sv`` holds module ``<top>_axis`` with ``aclk``, ``aresetn`` (active low), a
slave port ``s_axis_tdata`` / ``tvalid`` / ``tready`` and a master port ``m_axis_tdata`` /
``tvalid`` / ``tready`` / ``tlast``. Every lane sits in its own byte-aligned field of
``tdata`` (lane ``i`` at bits ``[i * B +: B]``, ``B`` the lane's width rounded up to whole
bytes); the input takes each field's low bits, the output sign-extends (signed formats) or
zero-extends each lane. ``m_axis_tlast`` is high on the last output beat of every inference (a
beat counter). The slave port has no ``tlast``: the accelerator counts its input beats itself,
and an AXI4-Stream master's ``tlast`` may be left unconnected. The wrapper adds no register and
no cycle; the top's memory-image parameters pass through under the same names.
"""

from __future__ import annotations

from collections.abc import Mapping

from golden.fixed import FixedType
from mapper.emit.top import GENERATED


def byte_lane_width(bits: int) -> int:
    """Bits of a lane's byte-aligned field in ``tdata``."""
    return 8 * ((bits + 7) // 8)


def render_axis_wrapper(
    top: str,
    in_lanes: int,
    in_format: FixedType,
    out_lanes: int,
    out_format: FixedType,
    out_beats: int,
    memory_parameters: Mapping[str, str],
) -> str:
    """Text of module ``<top>_axis`` (see the module docstring); ``memory_parameters`` maps the
    top's memory parameters to their defaults (paths relative to the design folder)."""
    ib, ob = byte_lane_width(in_format.width), byte_lane_width(out_format.width)
    iw, ow = in_format.width, out_format.width
    count_w = max(1, (out_beats - 1).bit_length())
    params = [f'    parameter string {k} = "{v}"' for k, v in memory_parameters.items()]
    header = [f"module {top}_axis #(", ",\n".join(params), ") ("] if params else [f"module {top}_axis ("]
    if out_format.signed and ob > ow:
        extend = f"{{{{{ob - ow}{{data_out[i][{ow - 1}]}}}}, data_out[i]}}"
    elif ob > ow:
        extend = f"{{{ob - ow}'b0, data_out[i]}}"
    else:
        extend = "data_out[i]"
    lines = [
        f"// {top}_axis: AXI4-Stream wrapper of {top}.",
        f"// {GENERATED}",
        "//",
        f"// s_axis: {in_lanes} lanes of {in_format} per beat, each in a {ib}-bit field of tdata (low bits",
        "//   used). No tlast: the accelerator counts its input beats.",
        f"// m_axis: {out_lanes} lanes of {out_format} per beat, each "
        + ("sign" if out_format.signed else "zero")
        + f"-extended to a {ob}-bit field; tlast",
        f"//   on beat {out_beats} of {out_beats} of every inference.",
        "// Latency and initiation interval: those of the top (the wrapper is wires and a beat counter).",
        *header,
        "    input  logic aclk,",
        "    input  logic aresetn,",
        f"    input  logic [{in_lanes * ib - 1}:0] s_axis_tdata,",
        "    input  logic s_axis_tvalid,",
        "    output logic s_axis_tready,",
        f"    output logic [{out_lanes * ob - 1}:0] m_axis_tdata,",
        "    output logic m_axis_tvalid,",
        "    input  logic m_axis_tready,",
        "    output logic m_axis_tlast",
        ");",
        f"  logic [{in_lanes - 1}:0][{iw - 1}:0] data_in;",
        f"  logic [{out_lanes - 1}:0][{ow - 1}:0] data_out;",
        "  logic rst;",
        "  assign rst = !aresetn;",
        "",
        f"  for (genvar i = 0; i < {in_lanes}; i++) begin : gen_in",
        f"    assign data_in[i] = s_axis_tdata[i*{ib}+:{iw}];",
        "  end",
        f"  for (genvar i = 0; i < {out_lanes}; i++) begin : gen_out",
        f"    assign m_axis_tdata[i*{ob}+:{ob}] = {extend};",
        "  end",
    ]
    if ib > iw:
        lines += [
            "  logic unused_tdata;  // the padding bits of each input field",
            "  assign unused_tdata = ^{"
            + ", ".join(f"s_axis_tdata[{i * ib + ib - 1}:{i * ib + iw}]" for i in range(in_lanes))
            + "};",
        ]
    if out_beats > 1:
        lines += [
            "",
            f"  // output beat counter: tlast on the last of {out_beats} beats of an inference",
            f"  logic [{count_w - 1}:0] beat;",
            "  always_ff @(posedge aclk) begin",
            "    if (rst) beat <= '0;",
            "    else if (m_axis_tvalid && m_axis_tready) beat <= m_axis_tlast ? '0 : beat + 1'b1;",
            "  end",
            f"  assign m_axis_tlast = beat == {count_w}'({out_beats - 1});",
        ]
    else:
        lines += ["  assign m_axis_tlast = 1'b1;  // one beat per inference"]
    conns = ",\n".join(f"      .{k}({k})" for k in memory_parameters)
    inst = [f"  {top} #(", conns, "  ) u_top ("] if conns else [f"  {top} u_top ("]
    lines += [
        "",
        *inst,
        "      .clk           (aclk),",
        "      .rst,",
        "      .data_in,",
        "      .data_in_valid (s_axis_tvalid),",
        "      .data_in_ready (s_axis_tready),",
        "      .data_out,",
        "      .data_out_valid(m_axis_tvalid),",
        "      .data_out_ready(m_axis_tready)",
        "  );",
        "endmodule",
        "",
    ]
    return "\n".join(lines)
