"""The calibrated resource model: structural rules, the committed fit, and (slow) held-out designs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import mapper.components  # noqa: F401
from mapper import calibrate
from mapper.components.base import get
from mapper.components.linear import linear_terms
from mapper.components.resource_model import (
    CALIBRATION_FILE,
    Terms,
    estimate,
    multiplier_slices,
    rom_bram_tiles,
    store_in_bram,
)
from mapper.flow import map_model
from mapper.held_out import evaluate
from quant.config import QuantConfig
from quant.transform import quantize_model


def _linear(**overrides: int) -> dict:
    return get("fixed_linear").parameters_with(overrides)


def test_narrow_products_are_lut_logic_and_wide_ones_take_dsp_slices() -> None:
    # a 3-bit unsigned input is a 4-bit signed operand: 4 x 4 = 8 product bits, LUTs
    narrow = linear_terms(_linear(IN_PAR=2, OUT_PAR=2, IN_WIDTH=3, IN_SIGNED=0, W_WIDTH=4, W_FRAC=2))
    assert narrow.dsp == 0 and narrow.lut["mult_lut"] == 4 * 4 * 4
    wide = linear_terms(_linear(IN_PAR=2, OUT_PAR=2))
    assert wide.dsp == 4 and wide.lut["mult_lut"] == 0
    assert multiplier_slices(20, 8) == 2 and multiplier_slices(36, 36) == 9
    # a fully parallel layer reads a one-word ROM: its weights are constants
    const = linear_terms(_linear(IN_FEATURES=4, OUT_FEATURES=2, IN_PAR=4, OUT_PAR=2, IN_WIDTH=3, W_WIDTH=3, W_FRAC=2))
    assert const.lut["mult_const"] > 0 and const.lut["mult_lut"] == 0 and const.lut["rom"] == 0


def test_a_lut_rom_costs_by_the_weight_bits_its_values_use() -> None:
    """A 288-word LUT ROM of 8-bit weights whose values fit in 4 bits (ResNet-8's conv2d_7: 511
    distinct bit columns of 1,024) counts half the ROM bits; nothing else changes, and a block-RAM
    ROM keeps its tiles."""
    params = _linear(IN_FEATURES=576, OUT_FEATURES=64, IN_PAR=64, OUT_PAR=2)
    full, used = linear_terms(params), linear_terms(params, weight_bits=4)
    assert full.lut["rom_deep"] == 128 * 8 * 288 / 64 and used.lut["rom_deep"] == full.lut["rom_deep"] / 2
    assert {k: v for k, v in used.lut.items() if k != "rom_deep"} == {
        k: v for k, v in full.lut.items() if k != "rom_deep"
    }
    assert (used.ff, used.dsp, used.bram) == (full.ff, full.dsp, full.bram)
    assert linear_terms(params, weight_bits=12).lut == full.lut  # never more than W_WIDTH
    deep = _linear(IN_FEATURES=256, OUT_FEATURES=16, IN_PAR=1, OUT_PAR=4)
    assert linear_terms(deep, weight_bits=2).bram == linear_terms(deep).bram > 0


def test_the_mapper_estimates_a_layer_by_its_weights_bits() -> None:
    """The same layer, weights within 2 bits against weights over the whole 8-bit format: fewer
    LUTs, the same flip-flops and DSPs."""
    estimates = []
    for scale in (0.02, 1.9):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(16, 8))
        with torch.no_grad():
            model[0].weight.uniform_(-scale, scale)
        fmt = {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}
        q = quantize_model(model.eval(), QuantConfig.from_dict({"default": fmt}))
        g = map_model(q, torch.zeros(2, 16), cycles=32)
        estimates.append(g["linear"].resources)
    small, full = estimates
    assert small.lut < full.lut and (small.ff, small.dsp) == (full.ff, full.dsp)


def test_block_ram_cells_follow_the_7_series_shapes() -> None:
    assert rom_bram_tiles(512, 72) == 1
    assert rom_bram_tiles(512, 36) == 0.5  # one RAMB18E1
    assert rom_bram_tiles(784, 512) == 14.5  # 29 RAMB18E1 (1K x 18) beat 15 RAMB36E1
    assert rom_bram_tiles(4096, 5) == 1  # 4K x 9
    assert rom_bram_tiles(128, 48) == 1  # two RAMB18E1 or one RAMB36E1
    big = linear_terms(_linear(IN_FEATURES=256, OUT_FEATURES=16, IN_PAR=1, OUT_PAR=4))
    assert big.bram == rom_bram_tiles(256 * 4, 4 * 8) and big.lut["rom"] == 0


def test_a_deep_fifo_buffer_is_block_ram_and_a_shallow_one_lutram() -> None:
    """ResNet-8's skip-path FIFOs, 1,118 x 9 and 1,102 x 8 bits, synthesized to one RAMB18E1
    each out of context, and so did its first line store, 128 x 24 bits; a 129 x 8-bit FIFO buffer
    stays in LUTRAM (its columns joined by multiplexers), as 256 x 8 bits did in calibration."""
    fifo = get("stream_fifo")
    for depth, width in ((1118, 9), (1102, 8)):
        deep = fifo.resource_terms({"LANES": 1, "WIDTH": width, "DEPTH": depth})
        assert deep.bram == 0.5 and deep.lut["deep"] == 0
    shallow = fifo.resource_terms({"LANES": 1, "WIDTH": 8, "DEPTH": 130})
    assert shallow.bram == 0 and shallow.lut["deep"] == 8 * 2  # 129 beats: three 64-beat columns
    assert store_in_bram(128, 24) and not store_in_bram(256, 8) and not store_in_bram(64, 192)


def test_estimate_weighs_every_term_with_its_coefficient() -> None:
    terms = Terms(lut={"a": 10, "b": 3}, ff={"a": 4}, dsp=2, bram=1)
    got = estimate("no_such_component", terms, {"lut": {"a": 1.5, "b": 0.0}, "ff": {}})
    assert (got.lut, got.ff, got.dsp, got.bram) == (15, 4, 2, 1)  # a missing coefficient counts 1
    assert (terms + terms).lut == {"a": 20, "b": 6}


def test_the_committed_fit_is_what_refitting_the_committed_points_gives() -> None:
    doc = json.loads(CALIBRATION_FILE.read_text())
    calibrated = {c.name for c in calibrate.calibrated_components()}
    assert calibrated <= set(doc["fit"]), f"not calibrated: {calibrated - set(doc['fit'])}"
    for name in sorted(calibrated):
        comp, points = get(name), doc["points"][name]
        assert len(points) >= 4
        refit = calibrate.fit(comp, points)
        assert refit["coefficients"] == doc["fit"][name]["coefficients"], name
        # DSP and BRAM are counted, not fitted: exact on every calibration point
        assert refit["dsp_bram_misses"] == [], (name, refit["dsp_bram_misses"][:3])


def test_the_fit_reproduces_its_points(tmp_path: Path) -> None:
    doc = json.loads(CALIBRATION_FILE.read_text())
    for name, result in doc["fit"].items():
        for resource in ("lut", "ff"):
            errors = np.abs(result["relative_errors"][resource])
            assert np.median(errors) <= 0.15, (name, resource, np.median(errors))


def test_calibrate_rejects_unknown_or_uncalibrated_components(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in (
        (["no_such"], "unknown component 'no_such'"),
        (["skid_buffer"], "skid_buffer has no calibrated resource model"),
        (["--points", "2"], "--points 2: need at least 4 points"),
    ):
        with pytest.raises(SystemExit):
            calibrate.main(argv)
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_held_out_random_designs_are_within_the_stated_accuracy(tmp_path: Path) -> None:
    """20 random MLPs and CNNs (formats 2-16 bits, random folding), none used by the fit, each
    flat-synthesized: DSP and BRAM within one on all, LUT and FF within 15 % on at least 90 %."""
    rows = [evaluate(seed, tmp_path) for seed in range(1, 21)]
    assert {r.kind for r in rows} == {"mlp", "cnn"}
    for r in rows:
        assert abs(r.error("dsp")) <= 1 and abs(r.error("bram")) <= 1, r
    for resource in ("lut", "ff"):
        within = np.mean([abs(r.error(resource)) <= 0.15 for r in rows])
        assert within >= 0.9, (resource, [round(r.error(resource), 3) for r in rows])


def test_an_interrupted_calibration_keeps_the_points_it_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    comp = get("fixed_relu")
    grid = comp.calibration_grid(np.random.default_rng(1), 4)
    known = [{"params": {k: v for k, v in grid[0].items() if not k.endswith("_FILE")}}]
    measured: list[int] = []

    def measure(c, params, seed):  # noqa: ANN001, ANN202 - stands in for Yosys, then is interrupted
        if measured:
            raise KeyboardInterrupt
        measured.append(seed)
        return {"params": params, "seed": seed, "lut": 1, "ff": 1, "dsp": 0, "bram": 0.0}

    kept: list[list[dict]] = []
    monkeypatch.setattr(calibrate, "measure", measure)
    with pytest.raises(KeyboardInterrupt):
        calibrate.collect(comp, 4, known, fresh=False, keep=kept.append)
    # point 1 was known; point 2 was measured and kept before point 3 was interrupted
    assert measured == [2] and len(kept) == 1
    assert [p.get("seed") for p in kept[0]] == [None, 2]
