"""The whole mapper flow in one call: capture, fold, emit, simulate bit-exactly, synthesize.

:func:`run_flow` takes a quantized PyTorch model (``sw_frontend.quant``) and float samples and

1. captures the model (:mod:`mapper.capture`) and folds it for the throughput target
   (:mod:`mapper.folding`);
2. emits the design folder (:mod:`mapper.emit`);
3. computes the golden network's integers and the quantized PyTorch model's integers on the
   samples and counts where they differ (must be 0);
4. simulates the emitted top on Verilator with the pyuvm bench (:mod:`mapper.tb_accelerator`):
   once under random input gaps and output stalls (every output integer compared with the golden
   network, mismatches counted), once without gaps or stalls to measure cycles per inference
   (initiation interval) and latency next to the predictions;
5. synthesizes the top with Yosys (``eda.synth``) for the report totals.

``python -m mapper.flow sim|synth <design folder>`` re-runs step 4 or 5 on an emitted folder (the
FuseSoC core's hooks call it).
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import torch
from torch import nn

from mapper.capture import capture, float_twin, golden_network, model_integers, quantize_inputs
from mapper.emit import Design, emit, write_bench, write_report
from mapper.folding import Plan, plan, target_cycles
from sim import runner

TB_MODULE = "mapper.tb_accelerator"


@dataclass
class SimRun:
    """One simulation of the emitted top.

    Attributes:
        outputs: the accelerator's output integers ``(B, elements_out)`` (as far as it produced them).
        results: the bench's results.json (transfer counts and cycles per port).
        error: the bench's failure message, or None when it passed.
    """

    outputs: np.ndarray
    results: dict[str, Any]
    error: str | None


@dataclass
class FlowResult:
    """Everything the flow measured, next to the mapper's predictions.

    Attributes:
        design: the emitted design (its plan holds the folded graph and predictions).
        graph: the captured dataflow graph.
        inputs: raw input integers ``(B, elements_in)`` in the accelerator's input format.
        golden: the golden network's output integers ``(B, elements_out)``.
        model: the quantized PyTorch model's output integers ``(B, elements_out)``.
        outputs: the simulated accelerator's output integers under random gaps and stalls.
        mismatches: accelerator output integers that differ from the golden network's (missing
            ones count as mismatches).
        golden_model_mismatches: golden integers that differ from the quantized model's.
        accelerator_model_mismatches: accelerator output integers (stall run) that differ from the
            quantized model's.
        compared: output integers compared with the golden network (both runs).
        measured_cycles_per_inference: steady-state initiation interval without stalls (cycles).
        measured_latency: first input beat to last output beat of the first inference (cycles).
        synthesis: the Yosys report as a dict (lut, ff, dsp, bram, ...), or None.
        errors: failure messages of the simulations (empty when both passed).
        accuracy: with labels, the fraction of samples whose largest output is the label for the
            float model, the quantized model and the accelerator; else None.
    """

    design: Design
    graph: nx.DiGraph
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
    synthesis: dict[str, Any] | None
    errors: list[str] = field(default_factory=list)
    accuracy: dict[str, float] | None = None

    @property
    def plan(self) -> Plan:
        return self.design.plan

    @property
    def predicted_cycles_per_inference(self) -> int:
        return self.design.plan.predicted_cycles

    @property
    def predicted_latency(self) -> int:
        return self.design.plan.predicted_latency


def map_model(
    model: nn.Module, example: torch.Tensor, throughput: float | None = None, cycles: int | None = None
) -> tuple[nx.DiGraph, Plan]:
    """Capture and fold ``model`` for ``throughput`` (inferences per cycle) or ``cycles`` per inference."""
    g = capture(model, example)
    return g, plan(g, target_cycles(throughput, cycles))


def _timeout(design: Design) -> int:
    """Cycles without any port transfer that count as a deadlock: generous against stalls."""
    return 10 * (design.plan.predicted_cycles + design.plan.predicted_latency) + 2000


def simulate(design: Design, inputs: np.ndarray, options: runner.RunOptions, tag: str) -> SimRun:
    """Run the emitted top on ``inputs`` (raw integers, one row per inference) through the bench."""
    record = design.out_dir / "bench" / f"outputs-{tag}.json"
    record.unlink(missing_ok=True)
    write_bench(design, inputs, record)
    error = None
    try:
        results = runner.run(design.top, design.sources, TB_MODULE, {}, options, tag=tag,
                             context={"bench": str(design.bench_file)})
    except runner.SimulationError as err:
        error = str(err)
        results = {}
    beats = json.loads(record.read_text())["beats"] if record.exists() else []
    flat = [v for beat in beats for v in beat]
    per = design.out_lanes * design.out_beats
    n = len(flat) // per
    outputs = np.asarray(flat[: n * per], dtype=np.int64).reshape(n, per)
    return SimRun(outputs, results, error)


def count_mismatches(expected: np.ndarray, actual: np.ndarray) -> int:
    """Integers of ``expected`` that ``actual`` does not reproduce (missing rows count fully)."""
    n = min(len(expected), len(actual))
    missing = (len(expected) - n) * expected.shape[1]
    return int(np.count_nonzero(expected[:n] != actual[:n])) + missing


def measure_timing(design: Design, results: dict[str, Any]) -> tuple[float, int]:
    """(initiation interval, latency) in cycles from a stall-free run's transfer cycles."""
    outs = results["output_cycles"]["data_out"]
    ins = results["input_cycles"]["data_in"]
    per_out = design.out_beats
    done = [outs[(i + 1) * per_out - 1] for i in range(len(outs) // per_out)]
    latency = done[0] - ins[0]
    ii = (done[-1] - done[0]) / (len(done) - 1) if len(done) > 1 else float(latency)
    return ii, int(latency)


def synthesize(design: Design) -> dict[str, Any]:
    """Yosys synth_xilinx of the emitted top; the report as a dict."""
    from eda.synth import synthesize as yosys  # noqa: PLC0415 - Yosys only when asked for

    report = yosys(design.top, design.memory_parameters(), design.sources, design.out_dir / "synth")
    return report.as_dict()


def run_flow(
    quant_model: nn.Module,
    samples: torch.Tensor,
    out_dir: Path,
    throughput: float | None = None,
    cycles: int | None = None,
    synth: bool = True,
    top: str = "accel_top",
    seed: int = 1,
    gap_prob: float = 0.3,
    stall_prob: float = 0.3,
    labels: torch.Tensor | None = None,
) -> FlowResult:
    """Map, emit, simulate (bit-exact check and timing) and optionally synthesize ``quant_model``.

    Args:
        quant_model: a model of ``sw_frontend.quant`` modules.
        samples: float inputs ``(B, ...)``; every one is simulated (B >= 1).
        out_dir: the design folder (created or overwritten).
        throughput / cycles: the target, inferences per cycle or cycles per inference (one of
            them; default one inference per 64 cycles).
        synth: run Yosys for the report totals.
        top: top module name.
        seed, gap_prob, stall_prob: the random input gaps and output stalls of the checking run.
        labels: optional class labels ``(B,)``: the result and the report then carry the float,
            quantized and accelerator accuracies (argmax of the outputs; ties go to the lowest
            class in all three).
    """
    if throughput is None and cycles is None:
        cycles = 64
    g, p = map_model(quant_model, samples[:2], throughput, cycles)
    design = emit(p, Path(out_dir), top)
    inputs = quantize_inputs(g, samples)
    expected = golden_network(g, inputs)
    model_ints = model_integers(quant_model, g, samples)
    timeout = _timeout(design)
    checked = simulate(
        design, inputs, runner.RunOptions(seed, len(inputs), gap_prob, stall_prob, timeout), "stalls"
    )
    timed = simulate(design, inputs, runner.RunOptions(seed, len(inputs), 0.0, 0.0, timeout), "timing")
    errors = [e for e in (checked.error, timed.error) if e]
    ii, latency = measure_timing(design, timed.results) if timed.results else (float("nan"), -1)
    mismatches = count_mismatches(expected, checked.outputs) + count_mismatches(expected, timed.outputs)
    synthesis = synthesize(design) if synth else None
    result = FlowResult(
        design=design,
        graph=g,
        inputs=inputs,
        golden=expected,
        model=model_ints,
        outputs=checked.outputs,
        mismatches=mismatches,
        golden_model_mismatches=count_mismatches(model_ints, expected),
        accelerator_model_mismatches=count_mismatches(model_ints, checked.outputs),
        compared=2 * expected.size,
        measured_cycles_per_inference=ii,
        measured_latency=latency,
        synthesis=synthesis,
        errors=errors,
        accuracy=None if labels is None else accuracies(quant_model, samples, labels, checked.outputs),
    )
    write_report(design, simulation=simulation_summary(result), synthesis=synthesis, accuracy=result.accuracy)
    return result


def accuracies(
    quant_model: nn.Module, samples: torch.Tensor, labels: torch.Tensor, outputs: np.ndarray
) -> dict[str, float]:
    """Classification accuracy of the float twin, the quantized model and the accelerator's
    outputs (rows missing from ``outputs`` count as wrong)."""
    truth = labels.detach().cpu().numpy().reshape(-1)
    with torch.no_grad():
        float_pred = float_twin(quant_model)(samples).argmax(-1).numpy()
        quant_pred = copy.deepcopy(quant_model).eval()(samples).argmax(-1).numpy()
    accel_pred = outputs.argmax(-1) if len(outputs) else np.zeros(0, dtype=np.int64)
    n = len(truth)
    return {
        "float": float(np.mean(float_pred == truth)),
        "quantized": float(np.mean(quant_pred == truth)),
        "accelerator": float(np.sum(accel_pred == truth[: len(accel_pred)]) / n),
    }


def simulation_summary(result: FlowResult) -> dict[str, Any]:
    """The simulation figures of the report."""
    return {
        "inferences": len(result.inputs),
        "compared": result.compared,
        "mismatches": result.mismatches,
        "golden_vs_quantized_model_mismatches": result.golden_model_mismatches,
        "accelerator_vs_quantized_model_mismatches": result.accelerator_model_mismatches,
        "measured_cycles_per_inference": result.measured_cycles_per_inference,
        "predicted_cycles_per_inference": result.predicted_cycles_per_inference,
        "measured_latency": result.measured_latency,
        "predicted_latency": result.predicted_latency,
        "errors": result.errors,
    }


def _cli(argv: list[str]) -> int:
    """``sim|synth <design folder>``: re-run the bench or Yosys on an emitted folder."""
    if len(argv) != 2 or argv[0] not in ("sim", "synth"):
        print("usage: python -m mapper.flow sim|synth <design folder>", file=sys.stderr)
        return 2
    folder = Path(argv[1]).resolve()
    report = json.loads((folder / "report.json").read_text())
    bench = json.loads((folder / "bench" / "network.json").read_text())
    top, sources = report["top"], [Path(s) for s in report["sources"]]
    if argv[0] == "synth":
        from eda.synth import synthesize as yosys  # noqa: PLC0415

        rep = yosys(top, report["memory_parameters"], sources, folder / "synth")
        print(f"{top}: LUT {rep.lut}, FF {rep.ff}, DSP {rep.dsp}, BRAM {rep.bram}")
        return 0
    groups = len(bench["samples"])
    timeout = 10 * (report["predicted"]["cycles_per_inference"] + report["predicted"]["latency_cycles"]) + 2000
    try:
        res = runner.run(top, sources, TB_MODULE, {}, runner.RunOptions(1, groups, 0.3, 0.3, timeout), "cli",
                         context={"bench": str(folder / "bench" / "network.json")})
    except runner.SimulationError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"{top}: {res['groups']} inferences, {res['outputs']['data_out']} output beats, all match the golden network")
    return 0


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
