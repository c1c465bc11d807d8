"""Benchmark: network-level simulation speed, the SystemVerilog harness against the pyuvm bench.

On one emitted accelerator (default: the design `make run` emits, ``mase_output/demo/hardware``;
copy it anywhere and pass ``--design``) and its own samples, measured in one run:

1. the pyuvm bench (``sim.tb.test_accelerator`` through ``sim.runner``): Python drives and samples
   every cycle;
2. the generated harness (``sim.harness``): ``verilator --binary`` run as a subprocess, no Python
   per cycle, checkers on every stream port of every module (``bind_components``);
3. the same harness orchestrated by cocotb (``sim/harness_cocotb.py`` awaits one
   ``RisingEdge(dut.done)``), built as cocotb builds (``--vpi --public-flat-rw``) and with
   ``--no-public-flat-rw`` (only ``done`` and ``deadlock`` visible to VPI).

Every variant runs the samples under 30 % input gaps and 30 % output stalls; the harness also runs
``--repeat`` times the samples to show its steady-state speed. Times are wall-clock seconds of the
simulation process (start-up included; builds are made before timing). The outputs of every
variant must be the pyuvm bench's (which checks them against the golden network).

    python bench/network_sim_speed.py [--design DIR] [--repeat 30] [--out build/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from eda.toolchain import REPO_ROOT, apply_tool_env
from sim import harness, runner
from sim.verif.bench import StreamTest
from sim.verif.ports import PortSpec

TB_MODULE = "sim.tb.test_accelerator"


def load_design(folder: Path) -> dict[str, Any]:
    """Top, sources and memory images of an emitted design folder, relocated to ``folder``."""
    report = json.loads((folder / "report.json").read_text())
    doc = json.loads((folder / "bench" / "network.json").read_text())
    top_file = Path(report["sources"][-1])
    origin = top_file.parent.parent  # <design>/rtl/<top>.sv

    def here(p: str) -> Path:
        return folder / Path(p).relative_to(origin)

    return {
        "top": report["top"],
        "sources": [here(s) for s in report["sources"]],
        "memories": {k: str(here(v)) for k, v in report["memory_parameters"].items()},
        "doc": doc,
    }


def ports(doc: dict[str, Any]) -> tuple[PortSpec, PortSpec]:
    i, o = doc["input"], doc["output"]
    return (
        PortSpec("data_in", int(i["lanes"]), int(i["format"][0]), bool(i["format"][2])),
        PortSpec("data_out", int(o["lanes"]), int(o["format"][0]), bool(o["format"][2])),
    )


def run_pyuvm(design: dict[str, Any], out: Path, seed: int) -> dict[str, Any]:
    """The pyuvm bench on the samples; its recorded outputs, cycles and time."""
    doc = dict(design["doc"])
    doc["record"] = str(out / "pyuvm_outputs.json")
    bench_file = out / "network.json"
    bench_file.write_text(json.dumps(doc))
    n = len(doc["samples"])
    options = runner.RunOptions(seed, n, 0.3, 0.3, timeout_cycles=20000)
    runner.build(design["top"], design["sources"], design["memories"])
    start = time.perf_counter()
    res = runner.run(
        design["top"],
        design["sources"],
        TB_MODULE,
        design["memories"],
        options,
        tag="speed",
        context={"bench": str(bench_file)},
    )
    seconds = time.perf_counter() - start
    beats = json.loads(Path(doc["record"]).read_text())["beats"]
    cycles = max(res["output_cycles"]["data_out"]) + StreamTest.DRAIN_CYCLES
    per = int(doc["output"]["beats"]) * int(doc["output"]["lanes"])
    outputs = np.asarray([v for b in beats for v in b], dtype=np.int64).reshape(-1, per)
    return {"cycles": cycles, "seconds": seconds, "outputs": outputs}


def run_cocotb(spec: harness.HarnessSpec, x: np.ndarray, out: Path, flags: list[str], seed: int) -> dict[str, Any]:
    """The harness built and run by cocotb's Verilator runner, the test awaiting ``done``."""
    apply_tool_env()
    from cocotb_tools.runner import get_runner  # noqa: PLC0415 - needs the tool env first

    name = "cocotb" + "".join(f.replace("-", "_") for f in flags)
    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "run").mkdir(parents=True)
    prepared = harness.prepare(spec, x, folder / "run", seed=seed, gap_prob=0.3, stall_prob=0.3, timeout_cycles=20000)
    top = folder / "harness_top.sv"
    top.write_text(harness.render_top(spec, *harness.depths(spec, prepared.inferences)))
    r = get_runner("verilator")
    r.build(
        sources=[*harness.harness_sources(spec), top],
        hdl_toplevel="harness_top",
        build_dir=folder / "obj",
        build_args=[
            *flags,
            "--timing",
            "--assert",
            "--timescale",
            "1ns/1ps",
            "-j",
            "1",
            "-CFLAGS",
            "-fcoroutines",
            "-CFLAGS",
            "-O2",
        ],
        log_file=folder / "build.log",
    )
    hidden = os.environ.pop("PYTEST_CURRENT_TEST", None)
    start = time.perf_counter()
    try:
        r.test(
            test_module="sim.harness_cocotb",
            hdl_toplevel="harness_top",
            build_dir=folder / "obj",
            test_dir=folder / "run",
            plusargs=[*prepared.plusargs, "+harness_hold"],
            extra_env={"PYTHONPATH": str(REPO_ROOT)},
            log_file=folder / "run" / "sim.log",
        )
    finally:
        if hidden is not None:
            os.environ["PYTEST_CURRENT_TEST"] = hidden
    seconds = time.perf_counter() - start
    log = (folder / "run" / "sim.log").read_text()
    res = harness.collect(spec, folder / "run", prepared.inferences, log, seconds)
    return {"cycles": res.cycles, "seconds": seconds, "outputs": res.outputs["data_out"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--design",
        type=Path,
        default=REPO_ROOT / "mase_output" / "demo" / "hardware",
        help="an emitted design folder (default: what `make run` writes)",
    )
    parser.add_argument("--repeat", type=int, default=30, help="samples repeated for the steady-state runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-cocotb", action="store_true", help="leave out the cocotb-orchestrated variants")
    parser.add_argument("--out", type=Path, default=Path("build/bench"))
    args = parser.parse_args()
    folder = args.design.resolve()
    if not (folder / "report.json").exists():
        print(
            f"{folder} is not an emitted design folder (no report.json): run `make run` or pass --design",
            file=sys.stderr,
        )
        return 2
    out = (args.out / "network_sim_speed").resolve()
    out.mkdir(parents=True, exist_ok=True)
    design = load_design(folder)
    doc = design["doc"]
    in_port, out_port = ports(doc)
    spec = harness.HarnessSpec.of(
        design["top"],
        design["sources"],
        [in_port],
        [out_port],
        beats={"data_in": int(doc["input"]["beats"]), "data_out": int(doc["output"]["beats"])},
        parameters=design["memories"],
        bind_components=True,
    )
    x = np.asarray(doc["samples"], dtype=np.int64)
    big = np.concatenate([x] * args.repeat)
    rows: list[tuple[str, int, dict[str, Any]]] = []

    print(f"pyuvm bench, {len(x)} inferences ...", flush=True)
    pyuvm = run_pyuvm(design, out, args.seed)
    rows.append(("pyuvm bench (Python every cycle)", len(x), pyuvm))
    for n, data in ((len(x), x), (len(big), big)):
        print(f"harness (verilator --binary), {n} inferences ...", flush=True)
        harness.run(spec, data, seed=args.seed, gap_prob=0.3, stall_prob=0.3, tag="speed-warm")  # build
        res = harness.run(spec, data, seed=args.seed, gap_prob=0.3, stall_prob=0.3, timeout_cycles=20000, tag="speed")
        rows.append(
            (
                "harness, verilator --binary",
                n,
                {"cycles": res.cycles, "seconds": res.seconds, "outputs": res.outputs["data_out"]},
            )
        )
    if not args.skip_cocotb:
        for flags, label in (
            ([], "harness under cocotb (default build)"),
            (["--no-public-flat-rw"], "harness under cocotb, --no-public-flat-rw"),
        ):
            for n, data in ((len(x), x), (len(big), big)):
                print(f"{label}, {n} inferences ...", flush=True)
                rows.append((label, n, run_cocotb(spec, data, out, flags, args.seed)))

    base = pyuvm["cycles"] / pyuvm["seconds"]
    print(f"\n{design['top']} ({folder}): {len(x)} samples, 30 % gaps, 30 % stalls; measured in this run")
    print(f"{'variant':<44} {'inferences':>10} {'cycles':>9} {'seconds':>8} {'cycles/s':>11} {'x pyuvm':>8} outputs")
    record = []
    for label, n, r in rows:
        speed = r["cycles"] / r["seconds"]
        same = np.array_equal(r["outputs"], np.concatenate([pyuvm["outputs"]] * (n // len(x))))
        print(
            f"{label:<44} {n:>10} {r['cycles']:>9} {r['seconds']:>8.3f} {speed:>11,.0f} {speed / base:>8.1f} "
            f"{'= pyuvm' if same else 'DIFFER'}"
        )
        record.append(
            {
                "variant": label,
                "inferences": n,
                "cycles": r["cycles"],
                "seconds": r["seconds"],
                "cycles_per_second": speed,
                "speedup_vs_pyuvm": speed / base,
                "outputs_match": same,
            }
        )
        if not same:
            print(f"error: {label} outputs differ from the pyuvm bench's", file=sys.stderr)
    tmp = out / ".results.json.tmp"
    tmp.write_text(json.dumps({"design": str(folder), "rows": record}, indent=1))
    os.replace(tmp, out / "results.json")
    print(f"\nwritten {out / 'results.json'}")
    return 0 if all(r["outputs_match"] for r in record) else 1


if __name__ == "__main__":
    sys.exit(main())
