"""Networks with branches through the mapper: forks, residual adds and the FIFO on the skip path.

The skip path of a residual block must hold what the fork passed on while the other branch has not
produced the matching beats yet. The mapper sizes that FIFO from the beat schedule; these tests
simulate the result (random gaps and stalls, every output integer compared), check that measured
cycles per inference and latency equal the predictions, and that a FIFO one entry shorter loses
rate and a far shorter one deadlocks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import mapper.passes.schedule as schedule
from mapper.components.base import Elastic
from mapper.flow import map_model, run_flow, run_passes
from mapper.graph import Fold, Graph
from mapper.held_out import random_design
from mapper.passes import folding
from mapper.passes.base import FlowContext
from mapper.simulate import SimulationResult
from quant.config import QuantConfig
from quant.transform import quantize_model

CONFIG = {
    "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
    "by_type": {"relu": {"data_out": [8, 4, "unsigned"]}},
}


class ResMLP(nn.Module):
    """x -> fc1 -> relu1 -> (+ fc2(.)) -> relu2 -> out: one residual block on vectors."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.relu1 = nn.Linear(16, 16), nn.ReLU()
        self.fc2, self.relu2 = nn.Linear(16, 16), nn.ReLU()
        self.out = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu1(self.fc1(x))
        return self.out(self.relu2(h + self.fc2(h)))


class ResCNN(nn.Module):
    """A conv stem, one residual block of two 3x3 convolutions, flatten, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.r1 = nn.Conv2d(2, 4, 3, padding=1), nn.ReLU()
        self.c2, self.r2 = nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()
        self.c3, self.r3 = nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()
        self.flatten, self.fc = nn.Flatten(), nn.Linear(4 * 6 * 6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.r1(self.c1(x))
        return self.fc(self.flatten(self.r3(self.c3(self.r2(self.c2(h))) + h)))


class QKVSum(nn.Module):
    """x forked to three linears (the Q, K, V of an attention) and the identity, summed: one fork
    feeding three replaying layers and a skip path."""

    def __init__(self) -> None:
        super().__init__()
        self.q, self.k, self.v = nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 16)
        self.relu, self.out = nn.ReLU(), nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.relu(self.q(x) + self.k(x) + self.v(x) + x))


def _res_mlp() -> nn.Module:
    torch.manual_seed(0)
    return quantize_model(ResMLP(), QuantConfig.from_dict(CONFIG))


def _bit_exact(result) -> None:  # noqa: ANN001
    assert not result.errors, result.errors[0][:2000]
    assert result.mismatches == result.golden_model_mismatches == result.accelerator_model_mismatches == 0


@pytest.mark.sim
def test_residual_mlp_bit_exact_with_its_skip_fifo_and_on_time(tmp_path: Path) -> None:
    x = torch.randn(30, 16) * 2
    result = run_flow(_res_mlp(), x, tmp_path / "res", cycles=16, synth=False, seed=3)
    _bit_exact(result)
    g = result.graph
    fork, skip = g["fork_relu"], g["fifo_add_0"]
    assert fork.component == "stream_fork" and g.consumers("fork_relu") == ["cast_linear_1", "cast_add"]
    assert skip.attrs["branch"] and skip.attrs["depth"] > 2 and g.consumers(skip.name) == ["add"]
    assert result.measured_cycles_per_inference == result.predicted_cycles_per_inference == 16
    assert result.measured_latency == result.predicted_latency
    text = result.design.top_file.read_text()
    assert "stream_fork #(" in text and "fixed_add #(" in text and ".data_in_1 " in text


def _with_depth(g: Graph, fifo: str, depth: int) -> Graph:
    """A copy of the folded graph ``g`` with FIFO node ``fifo`` ``depth`` beats deep."""
    h = g.copy()
    h[fifo].attrs["depth"] = depth
    return run_passes(("annotate",), FlowContext(), h)


def _simulate(model: nn.Module, x: torch.Tensor, g: Graph, folder: Path) -> SimulationResult:
    ctx = FlowContext(model=model, samples=x, out_dir=folder, seed=3)
    run_passes(("emit", "simulate"), ctx, g)
    assert ctx.simulation is not None
    return ctx.simulation


@pytest.mark.sim
def test_every_fifo_one_entry_shorter_loses_rate_or_latency(tmp_path: Path) -> None:
    # Each FIFO the mapper sized (the replay FIFO in front of fc2 and the skip-path FIFO) is the
    # smallest that keeps the schedules: one entry less, alone, and the design measurably slows
    # down (the sized design runs at the predicted 16 cycles and latency: the test above).
    model, x = _res_mlp(), torch.randn(12, 16) * 2
    g = map_model(model, x[:2], cycles=16)
    fifos = [n.name for n in g if n.op == "fifo"]
    assert fifos == ["fifo_linear_1", "fifo_add_0"] and g["fifo_add_0"].attrs["branch"]
    for f in fifos:
        short = _simulate(model, x, _with_depth(g, f, g[f].attrs["depth"] - 1), tmp_path / f)
        assert not short.errors and short.mismatches == 0
        slower = short.measured_cycles_per_inference > g.info.predicted_cycles
        assert slower or short.measured_latency > g.info.predicted_latency, f


def test_fifo_depth_counts_the_registers_a_refused_beat_waits_in() -> None:
    # Eight beats offered back to back and taken 20 cycles later: a FIFO that never refuses holds
    # all eight; behind a skid_buffer output two of them wait there, behind a ReLU (three beats:
    # its register level and its skid_buffer) three more. With room for all eight upstream, a
    # depth-1 FIFO would still not do: it alternates, and the consumer takes a beat every cycle.
    relu = Elastic(3, 2)
    offers, takes = list(range(8)), list(range(20, 28))
    assert schedule.fifo_depth(offers, takes) == 8
    assert schedule.fifo_depth(offers, takes, skid=True) == 6
    assert schedule.fifo_depth(offers, takes, [relu]) == 5
    assert schedule.fifo_depth(offers, [t + 2 for t in takes], [relu], skid=True) == 3
    assert schedule.fifo_depth(offers, [t + 4 for t in takes], [relu, relu], skid=True) == 2


def test_elastic_stages_without_back_pressure_keep_the_schedule() -> None:
    # The elastic models (ReLU, cast, resize that splits or gathers) must reproduce the beat
    # schedule from the pacing producer to the FIFO when nothing waits, or the depth is sized on
    # the wrong arrivals.
    for seed in (2, 3, 20):
        model, example, cycles, _, text = random_design(seed)
        g = map_model(model, example, cycles=cycles)
        runs = folding._steady_runs(g)
        for f in (n.name for n in g if n.op == "fifo"):
            head, chain = folding.pacing_chain(g, f)
            assert chain, f"{text}: {f} has no elastic stage in front"
            offers = [t - 1 for run in runs for t in run[head]]  # pushed into the head's skid_buffer
            arrivals = [t for run in runs for t in run[g.producer(f)]]
            free = [-(10**9)] * len(arrivals)
            assert schedule.chain_flow(offers, [Elastic(2, 1), *chain], free)[1] == arrivals, (text, f)


#: Designs of mapper.held_out.random_design whose FIFOs are each checked to be the smallest.
MINIMAL_SEEDS = (2, 10, 16, 20, 3, 14)
#: FIFOs one entry shorter that keep the measured rate and latency, and why: a depth-1 FIFO
#: alternates (a beat every other cycle), so the model, which keeps every consumer's take time in
#: the steady state, needs 2 wherever the consumer takes two beats in consecutive cycles; here that
#: consumer (64 of 96 cycles per inference) has slack that absorbs the lost cycle in the
#: steady state, and the first inference does not take consecutive beats.
SLACK_ABSORBS = {(10, "fifo_linear_1"), (10, "fifo_linear_2")}


def _shrink_each_fifo(seed: int, folder: Path) -> list[str]:
    """Simulate random design ``seed`` with each of its FIFOs of depth >= 2 one entry shorter,
    alone; the FIFOs whose shortening kept the predicted rate and latency (their names)."""
    model, example, cycles, kind, text = random_design(seed)
    g = map_model(model, example, cycles=cycles)
    torch.manual_seed(seed)
    x = torch.randn(12, *example.shape[1:]) * 3
    kept = []
    for f in (n.name for n in g if n.op == "fifo" and n.attrs["depth"] >= 2):
        depth = g[f].attrs["depth"]
        short = _simulate(model, x, _with_depth(g, f, depth - 1), folder / f)
        assert not short.errors and short.mismatches == 0, f"{kind} {text}: {f} at {depth - 1}"
        slower = short.measured_cycles_per_inference > g.info.predicted_cycles
        if not slower and short.measured_latency <= g.info.predicted_latency:
            kept.append(f)
    return kept


@pytest.mark.sim
def test_each_fifo_of_a_random_mlp_is_the_smallest(tmp_path: Path) -> None:
    # 16-32-8-8 at 32 cycles: two replay FIFOs of 2 (5 and 2 before the elastic stages counted);
    # each one shorter: 39 and 35 cycles per inference.
    assert _shrink_each_fifo(16, tmp_path) == []


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("seed", MINIMAL_SEEDS)
def test_each_fifo_of_random_designs_is_the_smallest(tmp_path: Path, seed: int) -> None:
    model, example, cycles, kind, text = random_design(seed)
    kept = _shrink_each_fifo(seed, tmp_path)
    expected = sorted(f for s, f in SLACK_ABSORBS if s == seed)
    assert sorted(kept) == expected, f"seed {seed} ({kind} {text}): one entry shorter kept the rate and latency: {kept}"


@pytest.mark.sim
def test_a_skip_fifo_far_too_short_deadlocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(20, 16) * 2
    monkeypatch.setattr(schedule, "fifo_depth", lambda a, d, chain=(), skid=False: 2)
    stuck = run_flow(_res_mlp(), x, tmp_path / "stuck", cycles=16, synth=False, seed=3)
    assert stuck.errors and "deadlock" in stuck.errors[0]
    # The report names the streams left waiting: the skip FIFO is full, so its input waits.
    g = stuck.graph
    skip = next(n for n in g if n.op == "fifo" and g[g.consumers(n.name)[0]].op == "add")
    waiting = [ln for ln in stuck.errors[0].splitlines() if "left waiting" in ln]
    assert len(waiting) == 1 and f"u_{skip.name}.data_in" in waiting[0], stuck.errors[0]
    assert f"u_{g.consumers(skip.name)[0]}.data_in_" in waiting[0]  # the add holds one operand


@pytest.mark.sim
def test_a_fork_paced_by_a_split_feeding_replaying_layers_is_on_time(tmp_path: Path) -> None:
    # The skip path leaves the 4-lane fork through a 4 -> 1 split, which takes an input beat every
    # 4 cycles: the fork, and the three replaying linears behind it, go at that pace. Modelled as
    # one beat per cycle, this design measured 22 cycles per inference (predicted 16) and latency
    # 58 (predicted 52), as the BERT encoder layer did at 1,024 cycles.
    torch.manual_seed(0)
    q = quantize_model(QKVSum(), QuantConfig.from_dict(CONFIG))
    result = run_flow(q, torch.randn(12, 16) * 2, tmp_path / "qkv", cycles=16, synth=False, seed=3)
    _bit_exact(result)
    g = result.graph
    fork = next(n for n in g if n.op == "fork")
    fifos = [g[c] for c in g.consumers(fork.name) if g[c].op == "fifo"]  # the replay FIFOs
    replaying = [g[g.consumers(f.name)[0]] for f in fifos]
    assert len(replaying) == 3 and all(n.op == "linear" and n.fold.out_lanes < 16 for n in replaying)
    splits = [g[c] for c in g.consumers(fork.name) if g[c].op == "resize"]
    assert fork.fold.out_lanes == 4 and [s.fold for s in splits] == [Fold(4, 1)]
    assert result.measured_cycles_per_inference == result.predicted_cycles_per_inference == 16
    assert result.measured_latency == result.predicted_latency


@pytest.mark.sim
def test_residual_cnn_bit_exact_under_stalls(tmp_path: Path) -> None:
    torch.manual_seed(1)
    q = quantize_model(ResCNN(), QuantConfig.from_dict(CONFIG))
    x = torch.rand(8, 2, 6, 6) * 2 - 0.5
    result = run_flow(q, x, tmp_path / "rescnn", cycles=64, synth=False, seed=3)
    _bit_exact(result)
    assert result.measured_latency == result.predicted_latency
    assert result.measured_cycles_per_inference >= result.predicted_cycles_per_inference


@pytest.mark.sim
def test_residual_cnn_cycles_per_inference_equal_the_prediction(tmp_path: Path) -> None:
    torch.manual_seed(1)
    q = quantize_model(ResCNN(), QuantConfig.from_dict(CONFIG))
    x = torch.rand(8, 2, 6, 6) * 2 - 0.5
    result = run_flow(q, x, tmp_path / "rescnn", cycles=64, synth=False, seed=3)
    assert result.measured_cycles_per_inference == result.predicted_cycles_per_inference
