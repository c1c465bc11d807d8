"""pyuvm bench of an emitted accelerator, described by its ``bench/network.json``.

The JSON file (written by :func:`mapper.simulate.write_bench`) is named by the run's context
(``context["bench"]``). One input port and one output port; a group is one inference (the input
beats of one sample); the reference is the golden network's output integers of each sample,
computed by the flow and stored next to the samples. The stimulus is the real samples in order.
Every output beat is also recorded to the file named by ``record`` so that the flow can count
mismatches and read the accelerator's own outputs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pyuvm
from pyuvm import uvm_subscriber

from common.atomic import write_text
from sim.verif.agents import Transfer
from sim.verif.bench import StreamTest, load_run_config
from sim.verif.ports import Beat, BenchSpec, PortSpec


@cache
def load() -> dict[str, Any]:
    """The bench description named by the run's context (its ``record`` file, relative to the
    description's folder, made absolute)."""
    path = load_run_config()["context"].get("bench")
    if not path:
        raise RuntimeError("the run has no bench description: run the accelerator bench through mapper.simulate")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    doc["record"] = str(Path(path).parent / doc["record"])
    return doc


def _port(doc: dict[str, Any], key: str, name: str) -> PortSpec:
    p = doc[key]
    return PortSpec(name, int(p["lanes"]), int(p["format"][0]), signed=bool(p["format"][2]))


def bench(params: dict[str, Any]) -> BenchSpec:
    """BenchSpec of the accelerator (``params`` is unused: the top has no parameters)."""
    doc = load()
    out_port = _port(doc, "output", "data_out")
    expected = iter(doc["expected"])

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        y = next(expected)
        lanes = out_port.lanes
        return {"data_out": [y[i : i + lanes] for i in range(0, len(y), lanes)]}

    return BenchSpec(
        inputs=[_port(doc, "input", "data_in")],
        outputs=[out_port],
        model=model,
        group_beats={"data_in": int(doc["input"]["beats"])},
    )


class Recorder(uvm_subscriber):
    """Keeps every output transfer (beat and cycle)."""

    def build_phase(self) -> None:
        self.beats: list[Beat] = []

    def write(self, tt: Transfer) -> None:
        self.beats.append(list(tt.beat))


@pyuvm.test()
class AcceleratorTest(StreamTest):
    """The bench's samples through the accelerator under the run's gaps and stalls."""

    bench = staticmethod(bench)

    def build_phase(self) -> None:
        super().build_phase()
        self.recorder = Recorder("recorder", self)

    def connect_phase(self) -> None:
        self.env.out_agents["data_out"].monitor.ap.connect(self.recorder.analysis_export)

    def stimulus(self) -> dict[str, list[Beat]]:
        doc = load()
        lanes = int(doc["input"]["lanes"])
        samples = doc["samples"]
        if int(self.run_cfg["groups"]) != len(samples):
            raise ValueError(f"run groups={self.run_cfg['groups']} but the bench holds {len(samples)} samples")
        return {"data_in": [s[i : i + lanes] for s in samples for i in range(0, len(s), lanes)]}

    def write_results(self, start_cycle: int) -> None:
        write_text(load()["record"], json.dumps({"beats": self.recorder.beats}))
        super().write_results(start_cycle)
