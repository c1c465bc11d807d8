"""The hardware actions of `ch`: emit, sim, synth, and flow (the whole chain on one command).

Output layout under ``mase_output/<project>/hardware/`` (the mapper's design folder, see
docs/mapper.md): ``rtl/``, ``mem/``, ``<top>.core``, ``bench/``, ``report.md`` / ``report.json``,
and ``synth/`` after synthesis.

- ``ch emit``: map the quantized model for ``--target-cycles`` and emit the design (with the test
  samples in its bench description).
- ``ch sim``: emit, then simulate the test samples on Verilator under random gaps and stalls,
  comparing every output integer with the golden network and the quantized PyTorch model, and
  measure cycles per inference and latency against the mapper's predictions.
- ``ch synth``: Yosys synthesis of the design ``ch emit`` / ``ch sim`` wrote (``--synth-mode``:
  ``ooc``, per instance, cached and in parallel, or ``flat``, the whole top in one run).
- ``ch flow``: train (unless ``--load`` is given), quantize (the ``[quantize]`` table of
  ``--config``, or :func:`default_quantize`), then everything ``ch sim`` does, plus synthesis.
"""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from common.errors import ConfigError
from sw_frontend.actions import prepare
from sw_frontend.data import DataBundle
from sw_frontend.options import options_for
from sw_frontend.outputs import require_writable
from sw_frontend.report import print_table, write_json
from sw_frontend.settings import Settings
from sw_frontend.train import run_train

CONFIGS = Path(__file__).parent / "configs"
TOP = "accel_top"


def default_quantize(model: str, dataset: str) -> dict[str, Any]:
    """The ``[quantize]`` table ``ch flow`` applies when none is given: the model's 8-bit example
    config (``configs/transform_<model>_<dataset>_8bit.toml``), else 8 bits everywhere."""
    example = CONFIGS / f"transform_{model}_{dataset}_8bit.toml"
    if example.is_file():
        with open(example, "rb") as fh:
            return tomllib.load(fh)["quantize"]
    return {
        "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
        "by_type": {"relu": {"data_out": [8, 4, "unsigned"]}},
    }


def hardware_dir(settings: Settings) -> Path:
    """``<output_root>/<project>/hardware``."""
    return settings.project_dir / "hardware"


def _test_tensors(data: DataBundle, count: int, split: str = "test") -> tuple[torch.Tensor, torch.Tensor, int]:
    """The first ``count`` samples (all when 0) of the test split, or of every split with the test
    split first (``split`` = ``all``); their labels; and how many of them are test samples."""
    if data.task != "image":
        raise ConfigError(f"hardware actions take image datasets; '{data.name}' is a {data.task} set")
    if count < 0:
        raise ConfigError(f"--samples must be >= 0, got {count}")
    parts = [data.test] if split == "test" else [data.test, data.train, data.val]
    pairs = [part[i] for part in parts for i in range(len(part))]
    pairs = pairs if count == 0 else pairs[:count]
    xs, ys = zip(*pairs)
    return torch.stack(xs), torch.stack([torch.as_tensor(y) for y in ys]), min(len(pairs), len(data.test))


def _quantized_model(settings: Settings) -> tuple[nn.Module, DataBundle]:
    data, loaded = prepare(settings)
    if loaded.quant_config is None:
        raise ConfigError(
            f"`ch {settings.action}` maps a quantized model: give --load of a `ch transform` output "
            "(--load-type pt) or a [quantize] table in --config"
        )
    return loaded.model.eval(), data


def run_emit(settings: Settings) -> dict[str, Any]:
    """Map and emit the quantized model; print the mapper's per-node report."""
    from mapper.flow import EMIT, FlowContext, run_passes  # noqa: PLC0415 - torch.export only when needed

    dumps = dump_passes(settings.dump_graph)
    model, data = _quantized_model(settings)
    samples, _, _ = _test_tensors(data, settings.samples, settings.sim_split)
    require_writable(hardware_dir(settings))
    ctx = FlowContext(
        model=model,
        example=samples[:2],
        target_cycles=settings.target_cycles,
        max_dsp=settings.values.get("max_dsp"),
        out_dir=hardware_dir(settings),
        top=TOP,
        dump_graph=dumps,
    )
    graph = run_passes(EMIT, ctx)
    assert ctx.design is not None
    _print_nodes(ctx.design.out_dir)
    print(f"design: {ctx.design.out_dir} (top {TOP}; FuseSoC core {ctx.design.out_dir / (TOP + '.core')})")
    return {"design": str(ctx.design.out_dir), "nodes": len(graph)}


def dump_passes(text: str) -> frozenset[str]:
    """``--dump-graph`` as pass names; an unknown name is a ConfigError listing the passes."""
    from mapper.flow import FLOW  # noqa: PLC0415 - the mapper only when a hardware action runs

    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    unknown = sorted(names - set(FLOW) - {"all"})
    if unknown:
        raise ConfigError(f"--dump-graph {', '.join(unknown)}: no such pass; passes: {', '.join(FLOW)} (or all)")
    return names


def run_sim(settings: Settings) -> dict[str, Any]:
    """Emit and simulate bit-exactly (no synthesis)."""
    return _flow(settings, synth=False)


def run_synth(settings: Settings) -> dict[str, Any]:
    """Synthesize the design an earlier ``ch emit`` / ``ch sim`` / ``ch flow`` wrote: Yosys resources
    and (unless ``--skip-pnr``) ECP5 place and route for the clock."""
    from eda.pnr import PlaceRouteError, place_and_route  # noqa: PLC0415
    from eda.synth import SynthesisError  # noqa: PLC0415
    from mapper.emit import load_design  # noqa: PLC0415
    from mapper.synthesize import synthesize_design  # noqa: PLC0415

    folder = hardware_dir(settings)
    if not (folder / "report.json").is_file():
        raise ConfigError(f"no design in {folder}: run `ch emit` (or `ch sim`) for this project first")
    try:
        top, sources, memories, report = load_design(folder)
    except ValueError as err:
        raise ConfigError(f"{err}; run `ch emit` (or `ch sim`) for this project again") from None
    require_writable(folder / "synth")
    mode = settings.synth_mode
    print(f"synthesizing {top} with Yosys (synth_xilinx -family xc7, {mode}) ...", flush=True)
    try:
        out = synthesize_design(folder, top, sources, memories, report.get("instances"), mode)
    except SynthesisError as err:
        raise ConfigError(str(err).splitlines()[0]) from None
    except ValueError as err:
        raise ConfigError(str(err)) from None
    estimate = report.get("estimate", {})
    print_table(
        f"ch synth {top} ({mode})",
        ["resource", "Yosys", "mapper estimate"],
        [[k.upper(), out[k], estimate.get(k)] for k in ("lut", "ff", "dsp", "bram")],
    )
    print(f"reports: {folder / 'synth' / 'report.md'}")
    if settings.skip_pnr:
        return out
    print(f"placing and routing {top} on ECP5 (nextpnr, {settings.clock_mhz:g} MHz requested) ...", flush=True)
    try:
        pnr = place_and_route(top, memories, sources, folder / "pnr", settings.clock_mhz)
    except (SynthesisError, PlaceRouteError) as err:
        raise ConfigError(str(err).splitlines()[0]) from None
    predicted = report.get("predicted", {})
    cycles, latency = predicted.get("cycles_per_inference"), predicted.get("latency_cycles")
    print_table(
        f"ch synth {top}: timing",
        ["figure", "value", "mapper prediction"],
        _clock_rows(pnr.fmax_mhz, predicted.get("fmax_mhz"), cycles, latency, cycles, latency),
    )
    print(pnr.summary())
    print(f"reports: {folder / 'pnr' / 'pnr.md'}")
    return {**out, "pnr": pnr.as_dict()}


def run_flow(settings: Settings) -> dict[str, Any]:
    """The main job: train, quantize, map, emit, simulate bit-exactly, synthesize, summarize."""
    if settings.model == "bert-tiny":
        from sw_frontend.bert_tiny import run_flow_action  # noqa: PLC0415 - transformers only here

        return run_flow_action(settings)
    start = time.monotonic()
    dump_passes(settings.dump_graph)  # refuse a bad option before training
    require_writable(hardware_dir(settings))
    if settings.load is None:
        print(f"[1/4] training {settings.model} on {settings.dataset} ({settings.max_epochs} epochs)", flush=True)
        train_values = {o.name: settings.values.get(o.name, o.default) for o in options_for("train")}
        train_values["debug"] = False  # --debug logs; a one-batch training would leave nothing to map
        run_train(Settings("train", train_values))
        settings.values["load"] = str(settings.project_dir / "software" / "training_ckpts" / "best.ckpt")
        settings.values["load_type"] = "pl"
    if settings.quantize is None:
        settings.quantize = default_quantize(settings.model, settings.dataset)
    print("[2/4] quantizing, mapping and emitting", flush=True)
    return _flow(settings, synth=not settings.skip_synth, started=start)


def _flow(settings: Settings, synth: bool, started: float | None = None) -> dict[str, Any]:
    from eda.pnr import PlaceRouteError  # noqa: PLC0415
    from mapper.flow import run_flow as mapper_flow  # noqa: PLC0415

    pnr = synth and not settings.values.get("skip_pnr", False)
    started = time.monotonic() if started is None else started
    dumps = dump_passes(settings.dump_graph)
    model, data = _quantized_model(settings)
    samples, labels, tests = _test_tensors(data, settings.samples, settings.sim_split)
    require_writable(hardware_dir(settings))
    what = "test samples" if tests == len(samples) else f"samples ({tests} of the test split first)"
    print(
        f"[3/4] simulating {len(samples)} {what} on Verilator ({settings.bench}, random stalls "
        f"p={settings.stall_prob})"
        + (" and synthesizing with Yosys" if synth else "")
        + (f", placing and routing on ECP5 at {settings.clock_mhz:g} MHz" if pnr else ""),
        flush=True,
    )
    try:
        result = mapper_flow(
            model,
            samples,
            hardware_dir(settings),
            cycles=settings.target_cycles,
            max_dsp=settings.values.get("max_dsp"),
            synth=synth,
            top=TOP,
            seed=settings.seed,
            gap_prob=settings.stall_prob,
            stall_prob=settings.stall_prob,
            labels=labels[:tests],
            dump_graph=dumps,
            bench=settings.bench,
            waves=settings.waves,
            place_route=pnr,
            **({"clock_mhz": settings.clock_mhz} if pnr else {}),
            synth_mode=settings.values.get("synth_mode", "auto"),
        )
    except PlaceRouteError as err:  # nextpnr failed (say, more multipliers than the part has)
        raise ConfigError(
            f"place and route failed ({str(err).splitlines()[0]}); the design and its simulation are in "
            f"{hardware_dir(settings)}; --skip-pnr leaves place and route out, --max-dsp sets a smaller "
            "multiplier budget"
        ) from None
    summary = _summary(result, time.monotonic() - started, tests)
    write_json(hardware_dir(settings) / "flow_summary.json", summary)
    _print_summary(summary)
    if result.timing is not None:
        print(result.timing["summary"])
    require_bit_exact(result, hardware_dir(settings))
    return summary


def require_bit_exact(result: Any, folder: Path) -> None:
    """A ConfigError naming the mismatch counts (the first mismatch, a failed run's reason, the
    waves when dumped) unless the mapper's FlowResult ``result`` is bit-exact; then None
    (the accelerator equal to the golden network and to the quantized model covers the third
    comparison)."""
    if result.errors or result.mismatches or result.accelerator_model_mismatches:
        raise ConfigError(
            f"the accelerator does not match: {result.mismatches} mismatching integers vs the golden "
            f"network, {result.accelerator_model_mismatches} vs the quantized model; see "
            f"{folder / 'report.md'}"
            + (f" (first: {result.simulation.mismatch})" if result.simulation.mismatch else "")
            + (f" ({result.errors[0].splitlines()[0]})" if result.errors else "")
            + (f"; waves: {result.simulation.waves}" if result.simulation.waves else "")
        )


def _clock_rows(
    fmax: float | None,
    predicted_fmax: float | None,
    cycles: float | None,
    latency: float | None,
    predicted_cycles: float | None,
    predicted_latency: float | None,
) -> list[list[Any]]:
    """Fmax, inferences per second and latency in ns, measured next to predicted."""
    from mapper.place_route import clock_figures  # noqa: PLC0415

    m, p = clock_figures(fmax, cycles, latency), clock_figures(predicted_fmax, predicted_cycles, predicted_latency)
    show = lambda v, f="{:,}": "-" if v is None else f.format(v)  # noqa: E731
    return [
        ["Fmax on ECP5, MHz (nextpnr)", show(fmax, "{:.1f}"), f"predicted {show(predicted_fmax, '{:.1f}')}"],
        ["inferences per second", show(m["inferences_per_second"]), f"predicted {show(p['inferences_per_second'])}"],
        ["latency, ns", show(m["latency_ns"]), f"predicted {show(p['latency_ns'])}"],
    ]


def _summary(result: Any, seconds: float, accuracy_samples: int) -> dict[str, Any]:
    plan_resources = result.graph.info.resources
    return {
        "design": str(result.design.out_dir),
        "samples": int(len(result.inputs)),
        "accuracy_samples": accuracy_samples,
        "accuracy": result.accuracy,
        "bench": result.simulation.bench,
        "simulated_cycles": int(result.simulation.simulated_cycles),
        "simulator_cycles_per_second": round(result.simulation.cycles_per_second),
        "first_mismatch": result.simulation.mismatch,
        "waves": result.simulation.waves,
        "compared_integers": int(result.compared),
        "mismatches_accelerator_vs_golden": int(result.mismatches),
        "mismatches_golden_vs_quantized_model": int(result.golden_model_mismatches),
        "mismatches_accelerator_vs_quantized_model": int(result.accelerator_model_mismatches),
        "cycles_per_inference": {
            "measured": result.measured_cycles_per_inference,
            "predicted": result.predicted_cycles_per_inference,
        },
        "latency_cycles": {"measured": result.measured_latency, "predicted": result.predicted_latency},
        "resources": {
            "estimate": {k: getattr(plan_resources, k) for k in ("lut", "ff", "dsp", "bram")},
            "yosys": None
            if result.synthesis is None
            else {k: result.synthesis[k] for k in ("lut", "ff", "dsp", "bram", "mode")},
        },
        "timing": result.timing,
        "predicted_fmax_mhz": result.graph.info.predicted_fmax_mhz,
        "seconds": round(seconds, 1),
    }


def _print_summary(s: dict[str, Any]) -> None:
    acc = s["accuracy"] or {}
    rows = [
        ["float model accuracy", acc.get("float"), f"{s['accuracy_samples']} test samples"],
        ["quantized model accuracy", acc.get("quantized"), ""],
        ["accelerator accuracy (its own outputs)", acc.get("accelerator"), ""],
        ["output integers compared", s["compared_integers"], ""],
        ["simulated cycles (checking run)", s["simulated_cycles"], f"{s['bench']} bench"],
        ["simulator speed, cycles/s", s["simulator_cycles_per_second"], "build and Python excluded"],
        ["mismatches accelerator vs golden", s["mismatches_accelerator_vs_golden"], "must be 0"],
        ["mismatches golden vs quantized PyTorch", s["mismatches_golden_vs_quantized_model"], "must be 0"],
        ["mismatches accelerator vs quantized PyTorch", s["mismatches_accelerator_vs_quantized_model"], "must be 0"],
        [
            "cycles per inference (measured)",
            s["cycles_per_inference"]["measured"],
            f"predicted {s['cycles_per_inference']['predicted']}",
        ],
        [
            "latency, cycles (measured)",
            s["latency_cycles"]["measured"],
            f"predicted {s['latency_cycles']['predicted']}",
        ],
    ]
    est, yos = s["resources"]["estimate"], s["resources"]["yosys"]
    mode = "" if yos is None else {"ooc": ", out of context (sum of instances)", "flat": ", flat"}[yos["mode"]]
    for k, unit in (("lut", ""), ("ff", ""), ("dsp", ""), ("bram", ", 36 kb tiles")):
        value = "-" if yos is None else f"{yos[k]:g}"
        rows.append([f"{k.upper()} (Yosys)", value, f"estimate {est[k]:g}{mode}{unit}"])
    t = s["timing"]
    rows += _clock_rows(
        None if t is None else t["fmax_mhz"],
        s["predicted_fmax_mhz"],
        s["cycles_per_inference"]["measured"],
        s["latency_cycles"]["measured"],
        s["cycles_per_inference"]["predicted"],
        s["latency_cycles"]["predicted"],
    )
    print_table(f"[4/4] {s['samples']} samples, {s['seconds']} s: {s['design']}", ["figure", "value", "note"], rows)


def _print_nodes(folder: Path) -> None:
    report = json.loads((folder / "report.json").read_text())
    rows = [
        [n["node"], n["component"], n["in_lanes"], n["out_lanes"], n["cycles_per_inference"]] for n in report["nodes"]
    ]
    print_table("mapped nodes", ["node", "component", "in lanes", "out lanes", "cycles/inference"], rows)
