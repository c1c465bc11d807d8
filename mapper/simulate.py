"""The ``simulate`` pass: the emitted accelerator on Verilator, every output integer compared.

Two runs on the samples of ``ctx.samples``: one under random input gaps and output stalls (every
output integer against the golden network), one without gaps or stalls to measure cycles per
inference (initiation interval) and latency next to the predictions. The golden network's integers
are also compared with the quantized PyTorch model's, so the three implementations are checked
against each other.

The bench (``ctx.bench``) is the SystemVerilog harness by default (:mod:`sim.harness`: sources and
sinks in the simulator, a stream checker on every port of every module of the design, no Python
per cycle), or the pyuvm bench (``sim/tb/test_accelerator.py``), which drives and samples every
cycle from Python. A failure names the first mismatching inference and output integer; with
``ctx.waves`` the checking run is repeated around the failure with an VCD wave dump.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from common.atomic import write_text
from mapper.capture import float_twin
from mapper.emit import Design
from mapper.graph import Graph
from mapper.network import count_mismatches, golden_network, model_integers, quantize_inputs
from mapper.passes.base import FlowContext, flow_pass
from sim import harness, runner
from sim.verif.ports import PortSpec

TB_MODULE = "sim.tb.test_accelerator"
#: Network benches: the SystemVerilog harness (default) or the pyuvm bench.
BENCHES = ("harness", "pyuvm")
#: Cycles of waves dumped before and after a failure.
WAVE_BEFORE, WAVE_AFTER = 400, 60


def deadlock_timeout(cycles_per_inference: int, latency: int) -> int:
    """Cycles without any port transfer that count as a deadlock: generous against stalls."""
    return 10 * (cycles_per_inference + latency) + 2000


@dataclass
class BenchRun:
    """One simulation of the emitted top: its output integers ``(B, elements_out)`` (as far as it
    produced them), the bench's results (transfer counts and cycles per port), and its failure
    message or None."""

    outputs: np.ndarray
    results: dict[str, Any]
    error: str | None
    cycles: int = 0
    seconds: float = 0.0


def write_bench(design: Design, inputs: np.ndarray, expected: np.ndarray, record: Path) -> Path:
    """Write ``bench/network.json``: ports, raw input samples ``(B, elements)``, the golden
    network's outputs for each, and the file where the bench records the accelerator's beats."""
    fmt = lambda t: [t.width, t.frac, bool(t.signed)]  # noqa: E731
    doc = {
        "top": design.top,
        "input": {"lanes": design.in_lanes, "format": fmt(design.in_format), "beats": design.in_beats},
        "output": {"lanes": design.out_lanes, "format": fmt(design.out_format), "beats": design.out_beats},
        "samples": np.asarray(inputs, dtype=np.int64).tolist(),
        "expected": np.asarray(expected, dtype=np.int64).tolist(),
        "record": record.relative_to(design.out_dir / "bench").as_posix(),
    }
    return write_text(design.out_dir / "bench" / "network.json", json.dumps(doc))


def run_bench(
    design: Design, inputs: np.ndarray, expected: np.ndarray, options: runner.RunOptions, tag: str
) -> BenchRun:
    """Run the emitted top on ``inputs`` (raw integers, one row per inference) through the bench."""
    record = design.out_dir / "bench" / f"outputs-{tag}.json"
    record.unlink(missing_ok=True)
    bench_file = write_bench(design, inputs, expected, record)
    error = None
    try:
        results = runner.run(
            design.top,
            design.sources,
            TB_MODULE,
            design.memory_parameters(),
            options,
            tag=tag,
            context={"bench": str(bench_file)},
        )
    except runner.SimulationError as err:
        error = str(err)
        results = {}
    beats = json.loads(record.read_text())["beats"] if record.exists() else []
    flat = [v for beat in beats for v in beat]
    per = design.out_lanes * design.out_beats
    n = len(flat) // per
    return BenchRun(np.asarray(flat[: n * per], dtype=np.int64).reshape(n, per), results, error)


def harness_spec(top: str, sources: list[Path], doc: dict[str, Any], parameters: dict[str, str]) -> harness.HarnessSpec:
    """The harness of an emitted accelerator from its bench description ``doc`` (ports): a checker
    on every stream port of every module, so every internal stream of the top is checked too."""
    ports = {
        key: PortSpec(name, int(doc[key]["lanes"]), int(doc[key]["format"][0]), bool(doc[key]["format"][2]))
        for key, name in (("input", "data_in"), ("output", "data_out"))
    }
    return harness.HarnessSpec.of(
        top,
        sources,
        inputs=[ports["input"]],
        outputs=[ports["output"]],
        beats={"data_in": int(doc["input"]["beats"]), "data_out": int(doc["output"]["beats"])},
        parameters=parameters,
        bind_components=True,
    )


def run_harness(
    spec: harness.HarnessSpec,
    inputs: np.ndarray,
    options: runner.RunOptions,
    tag: str,
    waves: Path | None = None,
    window: tuple[int, int] | None = None,
) -> BenchRun:
    """Run an emitted top on ``inputs`` (raw integers, one row per inference) in the harness."""
    error = None
    out = spec.outputs[0]
    try:
        res = harness.run(
            spec,
            {"data_in": inputs},
            seed=options.seed,
            gap_prob=options.gap_prob,
            stall_prob=options.stall_prob,
            timeout_cycles=options.timeout_cycles,
            tag=tag,
            waves=waves,
            wave_window=window,
        )
    except harness.HarnessError as err:
        error, res = str(err), err.result
    if res is None:
        return BenchRun(np.zeros((0, out.lanes * spec.beats_of(out.name)), dtype=np.int64), {}, error)
    results = {"input_cycles": res.input_cycles, "output_cycles": res.output_cycles}
    return BenchRun(res.outputs["data_out"], results, error, res.cycles, res.seconds)


def first_mismatch(expected: np.ndarray, actual: np.ndarray, out_lanes: int) -> tuple[str, int] | None:
    """(one line naming the first differing or missing output integer, its output beat index), or
    None when ``actual`` reproduces ``expected``."""
    n = min(len(expected), len(actual))
    diff = np.argwhere(expected[:n] != actual[:n])
    if len(diff):
        i, k = (int(v) for v in diff[0])
        line = f"inference {i}, output {k}: expected {expected[i, k]}, got {actual[i, k]}"
        return line, (i * expected.shape[1] + k) // out_lanes
    if len(actual) < len(expected):
        return f"inference {n} and later: no output ({len(actual)} of {len(expected)} inferences came out)", n
    return None


def measure_timing(out_beats: int, results: dict[str, Any]) -> tuple[float, int]:
    """(initiation interval, latency) in cycles from a stall-free run's transfer cycles; (nan, -1)
    when no inference came out (a failed run)."""
    outs = results.get("output_cycles", {}).get("data_out", [])
    ins = results.get("input_cycles", {}).get("data_in", [])
    done = [outs[(i + 1) * out_beats - 1] for i in range(len(outs) // out_beats)]
    if not done or not ins:
        return float("nan"), -1
    latency = done[0] - ins[0]
    ii = (done[-1] - done[0]) / (len(done) - 1) if len(done) > 1 else float(latency)
    return ii, int(latency)


def accuracies(model: nn.Module, samples: torch.Tensor, labels: torch.Tensor, outputs: np.ndarray) -> dict[str, float]:
    """Classification accuracy of the float twin, the quantized model and the accelerator's
    outputs on the first ``len(labels)`` samples (labels may cover only the leading part of the
    samples, e.g. the test split before the rest of a data set; rows missing from ``outputs`` count
    as wrong; ties go to the lowest class in all three)."""
    truth = labels.detach().cpu().numpy().reshape(-1)
    n = len(truth)
    with torch.no_grad():
        float_pred = float_twin(model)(samples[:n]).argmax(-1).numpy()
        quant_pred = copy.deepcopy(model).eval()(samples[:n]).argmax(-1).numpy()
    accel_pred = outputs[:n].argmax(-1) if len(outputs) else np.zeros(0, dtype=np.int64)
    return {
        "float": float(np.mean(float_pred == truth)),
        "quantized": float(np.mean(quant_pred == truth)),
        "accelerator": float(np.sum(accel_pred == truth[: len(accel_pred)]) / n),
    }


@dataclass
class SimulationResult:
    """What the simulate pass measured.

    Attributes:
        inputs: raw input integers ``(B, elements_in)`` in the accelerator's input format.
        golden: the golden network's output integers ``(B, elements_out)``.
        model: the quantized PyTorch model's output integers.
        outputs: the accelerator's output integers under random gaps and stalls.
        mismatches: accelerator output integers (both runs) that differ from the golden network's
            (missing ones count).
        golden_model_mismatches: golden integers that differ from the quantized model's.
        accelerator_model_mismatches: accelerator integers (stall run) that differ from the model's.
        compared: output integers compared with the golden network (both runs).
        measured_cycles_per_inference: steady-state initiation interval without stalls (cycles).
        measured_latency: first input beat to last output beat of the first inference (cycles).
        errors: failure messages of the simulations (empty when both passed).
        accuracy: with labels, float / quantized / accelerator accuracy; else None.
        bench: the bench that ran (``harness`` or ``pyuvm``).
        simulated_cycles: cycles of the checking run (random gaps and stalls).
        cycles_per_second: simulated cycles per second of the checking run's simulator (the build
            and Python excluded for the harness).
        mismatch: the first mismatching output integer of the checking run in one line, or None.
        waves: the VCD wave file of the failing window (``ctx.waves`` and a failure), or None.
    """

    inputs: np.ndarray
    golden: np.ndarray
    model: np.ndarray
    outputs: np.ndarray
    mismatches: int
    golden_model_mismatches: int
    accelerator_model_mismatches: int
    compared: int
    measured_cycles_per_inference: float
    measured_latency: int
    errors: list[str] = field(default_factory=list)
    accuracy: dict[str, float] | None = None
    bench: str = "harness"
    simulated_cycles: int = 0
    cycles_per_second: float = 0.0
    mismatch: str | None = None
    waves: str | None = None

    def summary(self, g: Graph) -> dict[str, Any]:
        """The simulation figures of the report, next to the graph's predictions."""
        return {
            "inferences": len(self.inputs),
            "compared": self.compared,
            "mismatches": self.mismatches,
            "golden_vs_quantized_model_mismatches": self.golden_model_mismatches,
            "accelerator_vs_quantized_model_mismatches": self.accelerator_model_mismatches,
            "measured_cycles_per_inference": self.measured_cycles_per_inference,
            "predicted_cycles_per_inference": g.info.predicted_cycles,
            "measured_latency": self.measured_latency,
            "predicted_latency": g.info.predicted_latency,
            "errors": self.errors,
            "bench": self.bench,
            "simulated_cycles": self.simulated_cycles,
            "cycles_per_second": self.cycles_per_second,
            "first_mismatch": self.mismatch,
            "waves": self.waves,
        }


@flow_pass("simulate")
def simulate(g: Graph, ctx: FlowContext) -> Graph:
    """Simulate ``ctx.samples`` on ``ctx.design`` (``ctx.simulation``; see the module docstring)."""
    if ctx.design is None or ctx.samples is None or ctx.model is None:
        raise ValueError("the simulate pass needs ctx.design (run emit first), ctx.samples and ctx.model")
    design = ctx.design
    inputs = quantize_inputs(g, ctx.samples)
    expected = golden_network(g, inputs)
    model_ints = model_integers(ctx.model, g, ctx.samples)
    timeout = deadlock_timeout(g.info.predicted_cycles, g.info.predicted_latency)
    n = len(inputs)
    if ctx.bench not in BENCHES:
        raise ValueError(f"bench {ctx.bench!r}: allowed: {', '.join(BENCHES)}")
    stalls = runner.RunOptions(ctx.seed, n, ctx.gap_prob, ctx.stall_prob, timeout)
    calm = runner.RunOptions(ctx.seed, n, 0.0, 0.0, timeout)
    if ctx.bench == "harness":
        doc = json.loads(write_bench(design, inputs, expected, design.out_dir / "bench" / "outputs.json").read_text())
        spec = harness_spec(design.top, design.sources, doc, design.memory_parameters())
        checked, timed = run_harness(spec, inputs, stalls, "stalls"), run_harness(spec, inputs, calm, "timing")
    else:
        checked = run_bench(design, inputs, expected, stalls, "stalls")
        timed = run_bench(design, inputs, expected, calm, "timing")
    ii, latency = measure_timing(design.out_beats, timed.results)
    found = first_mismatch(expected, checked.outputs, design.out_lanes)
    waves = None
    if ctx.waves and ctx.bench == "harness" and (found or checked.error):
        waves = _waves(spec, design.out_dir / "bench" / "failure.vcd", inputs, stalls, checked, found)
    ctx.simulation = SimulationResult(
        inputs=inputs,
        golden=expected,
        model=model_ints,
        outputs=checked.outputs,
        mismatches=count_mismatches(expected, checked.outputs) + count_mismatches(expected, timed.outputs),
        golden_model_mismatches=count_mismatches(model_ints, expected),
        accelerator_model_mismatches=count_mismatches(model_ints, checked.outputs),
        compared=2 * expected.size,
        measured_cycles_per_inference=ii,
        measured_latency=latency,
        errors=[e for e in (checked.error, timed.error) if e],
        accuracy=None if ctx.labels is None else accuracies(ctx.model, ctx.samples, ctx.labels, checked.outputs),
        bench=ctx.bench,
        simulated_cycles=checked.cycles,
        cycles_per_second=checked.cycles / checked.seconds if checked.seconds > 0 else 0.0,
        mismatch=None if found is None else found[0],
        waves=None if waves is None else str(waves),
    )
    return g


def _waves(
    spec: harness.HarnessSpec,
    path: Path,
    inputs: np.ndarray,
    options: runner.RunOptions,
    run: BenchRun,
    found: tuple[str, int] | None,
) -> Path:
    """Repeat the checking run (same seed: the same gaps and stalls) with a VCD wave dump of the
    cycles around the failure: the first mismatching output beat, or the cycle the failure
    message names, or the end of the run."""
    cycles = run.results.get("output_cycles", {}).get("data_out", [])
    if found is not None and found[1] < len(cycles):
        at = cycles[found[1]]
    else:
        stamps = [int(c) for c in re.findall(r"cycle (\d+)", run.error or "")]
        at = stamps[0] if stamps else (cycles[-1] if cycles else 0)
    run_harness(spec, inputs, options, "waves", waves=path, window=(at - WAVE_BEFORE, at + WAVE_AFTER))
    return path
