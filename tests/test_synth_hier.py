"""Synthesis with the hierarchy kept (eda/hier.py, eda/synth.py ``hierarchical=True``, the ``hier``
mode of eda/ooc.py): equal modules merged in RTLIL, constant inputs tied in wrappers, one-word ROMs
left to a flat run, the mode in the cache key and the reports; real Yosys runs on small layers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from eda.hier import WRAPPER_ATTRIBUTE, merge_equal_modules
from eda.ooc import Instance, cache_key, instance_mode, instance_table, mode_note
from eda.synth import synthesize
from eda.yosys import run_script, run_yosys
from mapper.components import get
from sim.runner import RunOptions

LEAF = """attribute \\src "leaf.sv:1.1"
module \\leaf$top.{name}
  wire width 3 input 1 \\a
  wire width 3 output 2 \\p
  wire width 3 ${op}$leaf.sv:3${n}_Y
  cell ${op} ${op}$leaf.sv:3${n}
    parameter \\A_SIGNED 0
    parameter \\A_WIDTH 3
    parameter \\Y_WIDTH 3
    connect \\A \\a
    connect \\Y \\p
  end
end
"""

TOP = """autoidx 40
attribute \\top 1
module \\top
  wire width 2 input 1 \\x
  wire width 3 output 2 \\y0
  wire width 3 output 3 \\y1
  wire width 3 output 4 \\y2
  wire width 3 output 5 \\y3
  wire width 3 output 6 \\y4
  memory width 8 size WORDS \\rom
  cell \\leaf$top.u0 \\u0
    connect \\a { 1'0 \\x }
    connect \\p \\y0
  end
  cell \\leaf$top.u1 \\u1
    connect \\a { 1'0 \\x [1] \\x [0] }
    connect \\p \\y1
  end
  cell \\leaf$top.u2 \\u2
    connect \\a { 1'1 \\x }
    connect \\p \\y2
  end
  cell \\leaf$top.u3 \\u3
    connect \\a { \\x [0] \\x }
    connect \\p \\y3
  end
  cell \\leaf$top.u4 \\u4
    connect \\a { 1'0 \\x }
    connect \\p \\y4
  end
end
"""


def _design(words: int = 16) -> str:
    """A top with five leaves: u0 .. u3 equal (internal names apart), u4 another operation; u0,
    u1 and u4 get a constant 0 on bit 2, u2 a constant 1, u3 no constant."""
    leaves = [LEAF.format(name=f"u{i}", op="not", n=7 * i + 3) for i in range(4)]
    return TOP.replace("WORDS", str(words)) + "".join(leaves) + LEAF.format(name="u4", op="neg", n=99)


def _modules(rtlil: str) -> list[str]:
    return [line.split()[1] for line in rtlil.splitlines() if line.startswith("module ")]


def _cell_types(rtlil: str, module: str) -> dict[str, str]:
    body = rtlil.split(f"module {module}\n", 1)[1].split("\nend\n", 1)[0]
    return {ln.split()[2]: ln.split()[1] for ln in body.splitlines() if ln.startswith("  cell ")}


def test_equal_modules_are_kept_once_and_constant_inputs_get_a_wrapper_per_value() -> None:
    merged = merge_equal_modules(_design())
    assert (merged.modules, merged.classes, merged.wrappers, merged.constant_memories) == (6, 3, 3, 0)
    leaf = "\\leaf$top.u0"
    assert sorted(_modules(merged.rtlil)) == sorted(
        ["\\top", leaf, "\\leaf$top.u4", f"{leaf}$const0", f"{leaf}$const1", "\\leaf$top.u4$const2"]
    )
    types = _cell_types(merged.rtlil, "\\top")
    # equal constants (however the connection spells them) share a wrapper; no constant: the class itself
    assert types == {
        "\\u0": f"{leaf}$const0",
        "\\u1": f"{leaf}$const0",
        "\\u2": f"{leaf}$const1",
        "\\u3": leaf,
        "\\u4": "\\leaf$top.u4$const2",
    }
    wrapper = merged.rtlil.split(f"attribute \\{WRAPPER_ATTRIBUTE} 1\nmodule {leaf}$const1\n", 1)[1]
    assert wrapper.startswith("  wire width 3 input 1 \\a\n  wire width 3 output 2 \\p\n")
    assert f"  cell {leaf} \\u_class\n    connect \\a {{ 1'1 \\a [1] \\a [0] }}\n    connect \\p \\p\n" in wrapper


def test_a_one_word_rom_that_nothing_writes_is_counted() -> None:
    assert merge_equal_modules(_design(words=1)).constant_memories == 1
    written = _design(words=1).replace(
        "  cell \\leaf$top.u0",
        '  cell $memwr_v2 $w\n    parameter \\MEMID "\\\\rom"\n  end\n  cell \\leaf$top.u0',
    )
    assert merge_equal_modules(written).constant_memories == 0


def test_the_mode_is_in_the_cache_key_and_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    comp = get("skid_buffer")
    inst = Instance("buf", comp.name, {"LANES": 2, "WIDTH": 8}, tuple(comp.sources), cost=100.0)
    monkeypatch.setattr("eda.ooc.HIER_CELLS", 1_000)
    flat_key = cache_key(inst)
    assert instance_mode(inst) == "flat"
    monkeypatch.setattr("eda.ooc.HIER_CELLS", 100)
    assert instance_mode(inst) == "hier" and cache_key(inst) != flat_key
    rows = [
        {"instance": n, "module": "m", "mode": m, "lut": 1, "ff": 2, "dsp": 0, "bram": 0, "lutram": 0, "seconds": 1.0}
        | {"cached": False}
        for n, m in (("fc1", "hier"), ("fc2", "flat"))
    ]
    assert "| fc1 | m | hier | 1 | 2 |" in "\n".join(instance_table(rows))
    assert "kept for fc1;" in mode_note(rows) and "from 100 estimated" in mode_note(rows)


def _layer(overrides: dict[str, int]) -> tuple[str, dict, list[Path]]:
    """fixed_linear with 2-bit unsigned inputs and 2-bit weights, its images written."""
    comp = get("fixed_linear")
    two_bit = {"IN_WIDTH": 2, "IN_FRAC": 1, "IN_SIGNED": 0, "W_WIDTH": 2, "W_FRAC": 1, "B_FRAC": 2, "OUT_FRAC": 2}
    params, _ = comp.prepared(comp.parameters_with(two_bit | overrides), RunOptions().seed)
    return comp.name, params, comp.sources


@pytest.mark.sim
def test_merging_changes_no_cell_of_the_flattened_design(tmp_path: Path) -> None:
    """The merged modules with their wrappers, flattened, are the elaborated design flattened:
    every generic cell type in equal number (Yosys ``opt -full``, before technology mapping)."""
    name, params, sources = _layer({"IN_FEATURES": 16, "OUT_FEATURES": 8, "IN_PAR": 8, "OUT_PAR": 2})
    run_yosys(name, params, sources, tmp_path, ["write_rtlil /out/elab.il"], "elab.il", "elab.log", keep_hierarchy=True)
    merged = merge_equal_modules((tmp_path / "elab.il").read_text())
    (tmp_path / "merged.il").write_text(merged.rtlil)
    assert (merged.modules, merged.classes, merged.wrappers) == (22, 5, 1)
    cells = {}
    for design in ("elab", "merged"):
        flatten = [f"read_rtlil /out/{design}.il", f"hierarchy -top {name}", "flatten -noscopeinfo", "opt -full"]
        run_script(design, [*flatten, "tee -q -o /out/stats.json stat -json"], tmp_path, "stats.json")
        cells[design] = json.loads((tmp_path / "stats.json").read_text())["design"]["num_cells_by_type"]
    assert cells["merged"] == cells["elab"] and cells["elab"]["$mul"] == 16


@pytest.mark.sim
def test_hierarchical_counts_match_flat_on_a_small_layer(tmp_path: Path) -> None:
    """16 multipliers fed an unsigned operand (a constant 0 sign bit at each mult_pipe's port,
    tied in a wrapper). The rest differs a little (measured: 298 against 287 LUT, 518 against
    517 FF): ABC maps each module on its own, and slang's hierarchical elaboration is another
    netlist to start from (flattened again before synthesis it gives 306 LUT / 517 FF)."""
    name, params, sources = _layer({"IN_FEATURES": 16, "OUT_FEATURES": 8, "IN_PAR": 8, "OUT_PAR": 2})
    flat = synthesize(name, params, sources, tmp_path / "flat", netlist=False)
    hier = synthesize(name, params, sources, tmp_path / "hier", netlist=False, hierarchical=True)
    assert (flat.mode, hier.mode) == ("flat", "hier")
    assert hier.modules == {"modules": 22, "classes": 5, "wrappers": 1}  # 16 mult_pipe, 2 add_tree, ...
    assert (hier.dsp, hier.bram, hier.lutram) == (flat.dsp, flat.bram, flat.lutram)
    assert abs(hier.ff - flat.ff) <= 2 and abs(hier.lut - flat.lut) <= 0.05 * flat.lut
    assert not any(p.suffix == ".il" for p in (tmp_path / "hier").iterdir())  # no elaborated RTLIL left
    assert "Hierarchy kept: 22 modules" in (tmp_path / "hier" / "report.md").read_text()
    assert json.loads((tmp_path / "hier" / "report.json").read_text())["mode"] == "hier"


@pytest.mark.sim
def test_a_one_word_rom_is_synthesized_flat(tmp_path: Path) -> None:
    """A fully parallel layer's weights are constants behind the ROM's read register: a flat run
    folds them into the multipliers, a kept hierarchy would not (TFC-sized 32 x 10 layer, measured:
    3,783 LUT with the hierarchy kept, 2,481 flat), so the hierarchical mode synthesizes it flat."""
    name, params, sources = _layer({"IN_FEATURES": 8, "OUT_FEATURES": 4, "IN_PAR": 8, "OUT_PAR": 4})
    report = synthesize(name, params, sources, tmp_path, netlist=False, hierarchical=True)
    assert report.mode == "flat" and report.modules == {} and report.lut > 0
    assert "Flattened" in (tmp_path / "report.md").read_text()


@pytest.mark.slow
def test_tfc_first_layer_hierarchical_equals_flat(tmp_path: Path) -> None:
    """FINN's TFC first layer (196 x 16 two-bit multipliers): the hierarchical run synthesizes one
    mult_pipe for 3,136 and agrees with the flat run (which takes about 6 minutes) within 0.1 %."""
    from mapper.flow import emit_design, map_model
    from mapper.held_out import TFC_WIDTHS, tfc
    from mapper.synthesize import design_instances

    g = map_model(tfc(2), torch.rand(2, TFC_WIDTHS[0]), cycles=16)
    design = emit_design(g, tmp_path / "design", top="tfc_top")
    first = design_instances(design.instances, design.out_dir)[0]
    assert instance_mode(first) == "hier"
    run = [first.module, first.parameters, list(first.sources)]
    hier = synthesize(*run, tmp_path / "hier", netlist=False, hierarchical=True)
    flat = synthesize(*run, tmp_path / "flat", netlist=False)
    assert hier.modules["modules"] > 3_136 and hier.modules["classes"] <= 6
    assert hier.ff == flat.ff and (hier.dsp, hier.bram) == (flat.dsp, flat.bram)
    assert abs(hier.lut - flat.lut) <= 0.001 * flat.lut
