"""ECP5 netlists against their RTL (eda/netlist_sim.py): mult_pipe's MULT18X18D wrapper is the same
function, cycle for cycle, as the generic code simulation runs.

Each case synthesizes the module with ``synth_ecp5`` as the place-and-route flow does (the
``CHOP_ECP5_DSP`` macro set: one MULT18X18D with its own input and output registers per partial
product), writes the netlist and simulates it with Verilator next to the generic RTL on random
operands, the enable low one cycle in four. A wrapper that ignored the enable, lost the sign or
the output register must show mismatches: the mutant cases check that the comparison catches
them. A case takes 6-20 s (Yosys, then a Verilator build): one runs by default, the rest are
``slow``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eda.netlist_sim import bench_source, compare_with_rtl, ecp5_netlist
from eda.pnr import Port
from mapper.components import base as components
from mapper.components.arith import MultPipe

MULT_SOURCES = [components.get("mult_pipe").file, components.get("add_tree").file]


def _registered_dsps(netlist: Path) -> int:
    """MULT18X18D instances of a netlist with input A, input B and output registers on CLK0."""
    text = netlist.read_text()
    cells = re.findall(r"MULT18X18D\s*#\((.*?)\)\s*\S+\s*\(", text, re.DOTALL)
    wanted = ('.REG_INPUTA_CLK("CLK0")', '.REG_INPUTB_CLK("CLK0")', '.REG_OUTPUT_CLK("CLK0")')
    return sum(all(w in re.sub(r"\s", "", c) for w in wanted) for c in cells)


@pytest.mark.sim
@pytest.mark.parametrize(
    ("a_width", "b_width", "out_reg"),
    [
        (40, 8, 1),
        pytest.param(8, 8, 1, marks=pytest.mark.slow),
        pytest.param(3, 2, 0, marks=pytest.mark.slow),
        pytest.param(36, 20, 0, marks=pytest.mark.slow),
    ],
)
def test_mult_pipe_netlist_matches_rtl(tmp_path: Path, a_width: int, b_width: int, out_reg: int) -> None:
    params = {"A_WIDTH": a_width, "B_WIDTH": b_width, "IN_REG": 1, "OUT_REG": out_reg}
    result = compare_with_rtl("mult_pipe", params, MULT_SOURCES, tmp_path, cycles=1500)
    partials = MultPipe.limbs(a_width) * MultPipe.limbs(b_width)
    assert result.cells.get("MULT18X18D") == partials, result.cells
    assert _registered_dsps(tmp_path / "mult_pipe_ecp5.v") == partials
    assert result.compared == 1500 - 16
    assert result.mismatches == 0, result.first


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize(
    ("original", "mutant"),
    [
        (".CE0(en)", ".CE0(1'b1)"),
        (".SIGNEDB(1'b1)", ".SIGNEDB(1'b0)"),
        ('.REG_OUTPUT_CLK("CLK0")', '.REG_OUTPUT_CLK("NONE")'),
    ],
)
def test_a_wrong_wrapper_shows_mismatches(tmp_path: Path, original: str, mutant: str) -> None:
    text = MULT_SOURCES[0].read_text()
    assert original in text
    (tmp_path / "mult_pipe.sv").write_text(text.replace(original, mutant))
    sources = [tmp_path / "mult_pipe.sv", MULT_SOURCES[1]]
    params = {"A_WIDTH": 12, "B_WIDTH": 10, "IN_REG": 1, "OUT_REG": 0}
    result = compare_with_rtl("mult_pipe", params, sources, tmp_path / "out", cycles=400)
    assert result.mismatches > 0


@pytest.mark.sim
@pytest.mark.slow
def test_fixed_linear_netlist_matches_rtl(tmp_path: Path) -> None:
    """A whole layer: weights in block RAM, four multipliers, random valid / ready handshakes."""
    comp = components.get("fixed_linear")
    sweep = {"IN_FEATURES": 12, "OUT_FEATURES": 6, "IN_PAR": 4, "OUT_PAR": 2, "HAS_BIAS": 1}
    params, _ = comp.prepare(comp.parameters_with(sweep), 3, tmp_path / "data")
    result = compare_with_rtl("fixed_linear", params, comp.sources, tmp_path / "sim", cycles=3000)
    assert result.cells.get("MULT18X18D") == 8, result.cells
    assert _registered_dsps(tmp_path / "sim" / "fixed_linear_ecp5.v") == 8
    assert result.valid_cycles["data_out"] > 100, result.valid_cycles  # output beats compared
    assert result.mismatches == 0, result.first


def test_bench_holds_enable_and_reset_high_then_compares_data_only_when_valid() -> None:
    ports = [
        Port("clk", "input", 1),
        Port("rst", "input", 1),
        Port("en", "input", 1),
        Port("x", "input", 40),
        Port("data_out", "output", 16),
        Port("data_out_valid", "output", 1),
    ]
    text = bench_source("dut", {"W": 4, "F": "w.memh"}, ports, cycles=100, warmup=10)
    assert "rst <= cycle < 10;" in text
    assert "en <= cycle < 10 ? 1'b1 : ($urandom % 4 != 0);" in text
    assert "x <= 40'({$urandom, $urandom});" in text
    assert "if (rtl_data_out_valid && rtl_data_out !== net_data_out)" in text
    assert "if (rtl_data_out_valid !== net_data_out_valid)" in text
    assert 'dut #(.W(4), .F("w.memh")) u_rtl' in text and "dut_ecp5 u_net" in text


def _enable_fanouts(netlist: Path) -> tuple[int, list[int]]:
    """Flip-flops of an ECP5 netlist and, largest first, how many of them each clock-enable net drives."""
    cells = re.findall(r"TRELLIS_FF\s*#\(.*?\)\s*\S+\s*\((.*?)\);", netlist.read_text(), re.DOTALL)
    counts: dict[str, int] = {}
    for body in cells:
        ce = re.search(r"\.CE\(([^)]*)\)", body)
        if ce is not None and not re.fullmatch(r"1'h1|1'b1", ce.group(1).strip()):
            counts[ce.group(1).strip()] = counts.get(ce.group(1).strip(), 0) + 1
    return len(cells), sorted(counts.values(), reverse=True)


def _bit_uses(netlist: Path, name: str) -> dict[int, int]:
    """Bit -> how many times the netlist's cells connect bit ``name[bit]`` of a vector net."""
    uses: dict[int, int] = {}
    for m in re.finditer(rf"\b{name}\[(\d+)\]", netlist.read_text()):
        uses[int(m.group(1))] = uses.get(int(m.group(1)), 0) + 1
    return uses


def test_fixed_linear_spreads_its_pipeline_enable_and_rom_address_over_copies(tmp_path: Path) -> None:
    """The enable of a 32-multiplier layer reaches its registers through several nets, none driving
    more than a quarter of the flip-flops (one net drove 89 % of them before the copies); its LUT
    weight ROM's address is kept in one copy per enable copy, so no address bit reaches more than a
    quarter of the ROM's LUTs (one counter's bits each reached all of them before the copies)."""
    comp = components.get("fixed_linear")
    sweep = {"IN_FEATURES": 72, "OUT_FEATURES": 16, "IN_PAR": 8, "OUT_PAR": 4, "HAS_BIAS": 1}
    params, _ = comp.prepare(comp.parameters_with(sweep), 3, tmp_path / "data")
    netlist, _ = ecp5_netlist("fixed_linear", params, comp.sources, tmp_path / "syn")
    flops, fanouts = _enable_fanouts(netlist)
    assert flops > 1000 and len(fanouts) >= 8, (flops, fanouts)
    assert fanouts[0] <= flops // 4, (flops, fanouts[:6])
    address = _bit_uses(netlist, "rom_addr")  # 36 words: 6 address bits in each of 8 copies
    assert len(address) == 8 * 6, sorted(address)
    assert max(address.values()) <= sum(address.values()) / 6 / 4, address
