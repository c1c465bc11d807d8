"""``report.json`` and ``report.md`` of an emitted design: per node and in total, predictions next to
whatever was measured (simulation, synthesis, accuracy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common.atomic import write_text
from eda.ooc import instance_table, mode_note
from mapper.graph import Graph


def node_rows(g: Graph) -> list[dict[str, Any]]:
    """Per node of the pipeline: component, parameters, lanes, formats, cycles, resources."""
    rows = []
    for node in g:
        f = node.formats
        rows.append(
            {
                "node": node.name,
                "op": node.op,
                "module": node.module,
                "folded": list(node.folded),
                "component": node.component or "(port)",
                "parameters": {k: (int(v) if isinstance(v, bool) else v) for k, v in node.params.items()},
                "in_lanes": node.fold.in_lanes,
                "out_lanes": node.fold.out_lanes,
                "window_pixels": node.fold.window,
                "in_format": str(f.data_in),
                "out_format": str(f.data_out),
                "cycles_per_inference": int(node.cycles),
                "resources": node.resources.as_dict(),
            }
        )
    return rows


def timing_lines(t: dict[str, Any]) -> list[str]:
    """The report's place-and-route section (``t``: :func:`mapper.place_route.timing_summary`)."""
    cp = t["critical_path"]
    fmt = lambda v, unit="": "-" if v is None else f"{v:,}{unit}"  # noqa: E731
    m, p = t["measured"], t["predicted"]
    lines = [
        "",
        f"## Timing ({t['part']}, Yosys synth_ecp5 + nextpnr-ecp5, seed 1)",
        "",
        t["summary"],
        "",
        "| figure | measured | predicted |",
        "| --- | ---: | ---: |",
        f"| Fmax (MHz), requested {t['requested_mhz']:g} | {t['fmax_mhz']:.1f} | "
        + ("-" if t["predicted_fmax_mhz"] is None else f"{t['predicted_fmax_mhz']:.1f} (`{t['fmax_limit']}`)")
        + " |",
        f"| inferences per second | {fmt(m['inferences_per_second'])} | {fmt(p['inferences_per_second'])} |",
        f"| latency (ns) | {fmt(m['latency_ns'])} | {fmt(p['latency_ns'])} |",
        f"| critical path | {cp['start'] + ' -> ' + cp['end'] if cp else '-'} | |",
        f"| critical path delay (ns) | {cp['delay_ns'] if cp else '-'} | |",
        "",
        "| ECP5 resource (design) | used |",
        "| --- | ---: |",
        f"| LUT4 | {t['luts']} |",
        f"| FF | {t['ffs']} |",
        f"| MULT18X18D | {t['dsps']} |",
        f"| DP16KD | {t['brams']} |",
    ]
    return lines


def synthesis_lines(s: dict[str, Any]) -> list[str]:
    """Which mode produced the Yosys figures and, out of context, the per-instance table."""
    if s.get("mode") != "ooc":
        return ["", f"Yosys figures: flat, the whole top in one run ({s['seconds']:.1f} s)."]
    rows = s["instances"]
    hits = sum(r["cached"] for r in rows)
    return [
        "",
        f"Yosys figures: out of context, the sum over the top's {len(rows)} instances ({hits} from the cache, "
        f"{s['jobs']} runs at once, {s['seconds']:.1f} s); `python -m mapper.flow synth <folder> --flat` "
        "synthesizes the whole top in one run. " + mode_note(rows),
        "",
        *instance_table(rows),
    ]


#: Keys of the synthesis and timing reports that hold folders of the run.
FOLDER_KEYS = ("out_dir", "cache_dir")


def portable(doc: Any, folder: Path) -> Any:
    """``doc`` with every absolute path inside the design ``folder`` (run folders, memory image
    parameters) relative to it, and the run folders outside it (:data:`FOLDER_KEYS`: the shared
    synthesis cache) left out: report.json names no absolute path, so the folder can move."""
    if isinstance(doc, list):
        return [portable(v, folder) for v in doc]
    if not isinstance(doc, dict):
        return doc
    root = Path(folder).resolve()
    out = {}
    for k, v in doc.items():
        if isinstance(v, str) and Path(v).is_absolute():
            path = Path(v).resolve()
            if path.is_relative_to(root):
                out[k] = path.relative_to(root).as_posix()
            elif k not in FOLDER_KEYS:
                out[k] = v
            continue
        out[k] = portable(v, folder)
    return out


def write_report(
    out_dir: Path,
    g: Graph,
    top: str,
    files: dict[str, Any],
    simulation: dict[str, Any] | None = None,
    synthesis: dict[str, Any] | None = None,
    timing: dict[str, Any] | None = None,
    accuracy: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir``; ``files`` holds the design's
    ``sources`` and ``memory_parameters`` (what ``python -m mapper.flow`` needs to re-run it)."""
    info = g.info
    rows = node_rows(g)
    est = info.resources
    doc = {
        "top": top,
        "target_cycles_per_inference": info.target_cycles,
        "predicted": {
            "cycles_per_inference": info.predicted_cycles,
            "latency_cycles": info.predicted_latency,
            "bottleneck": info.bottleneck,
            "fmax_mhz": info.predicted_fmax_mhz,
            "fmax_limit": info.fmax_limit,
            "fmax_unmodelled": info.unclocked,
        },
        "estimate": est.as_dict(),
        "nodes": rows,
        "simulation": simulation,
        "synthesis": portable(synthesis, out_dir),
        "timing": portable(timing, out_dir),
        "accuracy": accuracy,
        **files,
    }
    json_path = write_text(out_dir / "report.json", json.dumps(doc, indent=1))
    md = [
        f"# Accelerator `{top}`",
        "",
        f"Target: {info.target_cycles} cycles per inference. Predicted initiation interval: "
        f"{info.predicted_cycles} cycles (bottleneck `{info.bottleneck}`), latency {info.predicted_latency} cycles"
        + (
            f", clock {info.predicted_fmax_mhz:.1f} MHz on ECP5 (limited by `{info.fmax_limit}`)."
            if info.predicted_fmax_mhz
            else "."
        ),
        "",
        "| node | op | component | lanes in/out | formats | cycles/inference | LUT | FF | DSP | BRAM | parameters |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        res = r["resources"]
        params = " ".join(f"{k}={v}" for k, v in r["parameters"].items())
        md.append(
            f"| {r['node']} | {r['op']} | {r['component']} | {r['in_lanes']}/{r['out_lanes']} | "
            f"{r['in_format']}->{r['out_format']} | {r['cycles_per_inference']} | {res['lut']} | {res['ff']} | "
            f"{res['dsp']} | {res['bram']:g} | {params} |"
        )
    md += ["", "## Resources", "", "| | LUT | FF | DSP | BRAM |", "| --- | ---: | ---: | ---: | ---: |"]
    md.append(f"| mapper estimate | {est.lut} | {est.ff} | {est.dsp} | {est.bram:g} |")
    if synthesis:
        md.append(
            f"| Yosys synth_xilinx | {synthesis['lut']} | {synthesis['ff']} | {synthesis['dsp']} "
            f"| {synthesis['bram']} |"
        )
        md += synthesis_lines(synthesis)
    else:
        md.append("| Yosys synth_xilinx | not run | | | |")
    if simulation:
        md += [
            "",
            "## Simulation (Verilator)",
            "",
            "| figure | measured | predicted |",
            "| --- | ---: | ---: |",
            f"| cycles per inference (initiation interval) | {simulation['measured_cycles_per_inference']:.2f} | "
            f"{info.predicted_cycles} |",
            f"| latency (cycles) | {simulation['measured_latency']} | {info.predicted_latency} |",
            f"| inferences simulated (random gaps and stalls) | {simulation['inferences']} | |",
            f"| output integers compared with the golden network | {simulation['compared']} | |",
            f"| mismatches | {simulation['mismatches']} | 0 |",
            f"| golden network vs quantized PyTorch model (integers differing) | "
            f"{simulation['golden_vs_quantized_model_mismatches']} | 0 |",
            f"| accelerator vs quantized PyTorch model (integers differing) | "
            f"{simulation['accelerator_vs_quantized_model_mismatches']} | 0 |",
        ]
    if timing:
        md += timing_lines(timing)
    if accuracy:
        md += ["", "## Accuracy", "", *[f"- {k}: {v}" for k, v in accuracy.items()]]
    md_path = write_text(out_dir / "report.md", "\n".join(md) + "\n")
    return json_path, md_path
