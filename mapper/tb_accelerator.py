"""pyuvm bench of an emitted accelerator, parameterised by its ``bench/network.json``.

The JSON file (written by :func:`mapper.emit.write_bench`) is named by the run's context
(``context["bench"]``, passed by :func:`mapper.flow.simulate` through ``sim.runner.run``). One
input port (the first stage's
lanes) and one output port; a group is one inference (the input beats of one sample); the
reference model is the golden network (every stage's ``golden.components`` function, through the
registry). The stimulus is the real samples of the JSON file in order, not random beats. Every
output beat is also recorded to the file named by ``record`` so that the flow can count
mismatches and read the accelerator's own predictions.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import numpy as np
import pyuvm
from pyuvm import uvm_subscriber

from golden.fixed import FixedType
from mapper.registry import golden_vector
from sim.verif.agents import Transfer
from sim.verif.bench import StreamTest, load_run_config
from sim.verif.ports import Beat, BenchSpec, PortSpec
from sw_frontend.quant.config import LayerFormats

def _fixed(value: list[Any] | None) -> FixedType | None:
    return None if value is None else FixedType(int(value[0]), int(value[1]), bool(value[2]))


@cache
def load() -> dict[str, Any]:
    """The bench description named by the run's context."""
    path = load_run_config()["context"].get("bench")
    if not path:
        raise RuntimeError("the run has no bench description: run the accelerator bench through mapper.flow.simulate")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def stages(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The golden network's stages as registry nodes (formats as FixedType, weights as arrays)."""
    out = []
    for s in doc["network"]:
        f = s["formats"]
        out.append(
            {
                "name": s["name"],
                "op": s["op"],
                "in_shape": tuple(s["in_shape"]),
                "out_shape": tuple(s["out_shape"]),
                "formats": LayerFormats(*(_fixed(f[k]) for k in ("data_in", "weight", "bias", "data_out"))),
                "weight": None if s["weight"] is None else np.asarray(s["weight"], dtype=np.int64),
                "bias": None if s["bias"] is None else np.asarray(s["bias"], dtype=np.int64),
                "attrs": {k: tuple(v) if isinstance(v, list) else v for k, v in s.get("attrs", {}).items()},
            }
        )
    return out


def golden(doc: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Golden network outputs ``(B, elements_out)`` for raw inputs ``(B, elements_in)``."""
    values = np.asarray(x, dtype=np.int64)
    for node in stages(doc):
        values = golden_vector(node, values)
    return values


def _port(doc: dict[str, Any], key: str, name: str) -> PortSpec:
    p = doc[key]
    return PortSpec(name, int(p["lanes"]), int(p["format"][0]), signed=bool(p["format"][2]))


def bench(params: dict[str, Any]) -> BenchSpec:
    """BenchSpec of the accelerator (``params`` is unused: the top has no parameters)."""
    doc = load()
    out_port = _port(doc, "output", "data_out")
    in_beats = int(doc["input"]["beats"])

    def model(group: dict[str, list[Beat]]) -> dict[str, list[Beat]]:
        x = np.asarray([v for beat in group["data_in"] for v in beat], dtype=np.int64)[None, :]
        y = golden(doc, x)[0]
        lanes = out_port.lanes
        return {"data_out": [y[i : i + lanes].tolist() for i in range(0, len(y), lanes)]}

    return BenchSpec(
        inputs=[_port(doc, "input", "data_in")],
        outputs=[out_port],
        model=model,
        group_beats={"data_in": in_beats},
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
        record = load()["record"]
        tmp = record + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"beats": self.recorder.beats}, f)
        os.replace(tmp, record)
        super().write_results(start_cycle)
