"""Held-out check of the resource model: random whole designs, estimate next to flat Yosys.

:func:`random_design` draws a quantized MLP or CNN (formats 2 to 16 bits, random layer sizes)
and a random folding target; :func:`evaluate` maps it, emits it, synthesizes the top flat
(``synth_xilinx -family xc7 -flatten``, the same run as the flow's report) and returns the
mapper's estimate next to what Yosys counted. None of these designs is used by the fit
(:mod:`mapper.calibrate` fits on single components), so the errors measure the model on designs it
has not seen. ``python -m mapper.calibrate --held-out N`` runs N of them and records the errors.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from eda.synth import synthesize
from mapper.flow import emit_design, map_model
from quant.config import QuantConfig
from quant.transform import quantize_model


@dataclass
class HeldOut:
    """One held-out design: what it is, the estimate and the flat Yosys figures."""

    seed: int
    kind: str
    description: str
    cycles: int
    estimate: dict[str, float]
    measured: dict[str, float]
    seconds: float

    def error(self, resource: str) -> float:
        """(estimate - measured) / measured for ``lut`` or ``ff``; absolute difference for
        ``dsp`` and ``bram`` (counts)."""
        est, meas = self.estimate[resource], self.measured[resource]
        if resource in ("dsp", "bram"):
            return est - meas
        return (est - meas) / max(meas, 1.0)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _format(rng: random.Random, signed: bool = True) -> list[Any]:
    width = rng.randint(2, 16)
    frac = rng.randint(0, width - 1)
    return [width, frac] if signed else [width, frac, "unsigned"]


def _layer_formats(rng: random.Random, data_in: list[Any]) -> dict[str, Any]:
    weight = _format(rng)
    bias_w = rng.randint(2, 16)
    bias = [bias_w, rng.randint(0, min(bias_w - 1, data_in[1] + weight[1]))]
    return {"data_in": data_in, "weight": weight, "bias": bias, "data_out": _format(rng)}


def random_design(seed: int) -> tuple[nn.Module, torch.Tensor, int, str, str]:
    """A random quantized network, two inputs for capture, a target in cycles per inference, its
    kind (``mlp`` or ``cnn``) and a one-line description."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    by_name: dict[str, dict[str, Any]] = {}
    layers: list[nn.Module] = []
    data = _format(rng)
    if rng.random() < 0.5:
        widths = [rng.choice((8, 16, 24, 32, 48, 64)) for _ in range(rng.randint(2, 4))] + [rng.randint(2, 10)]
        for i, (k, n) in enumerate(zip(widths, widths[1:])):
            f = _layer_formats(rng, data)
            by_name[str(len(layers))] = f
            layers.append(nn.Linear(k, n, bias=rng.random() < 0.7))
            if i < len(widths) - 2:
                data = _format(rng, signed=rng.random() < 0.3)
                by_name[str(len(layers))] = {"data_in": f["data_out"], "data_out": data}
                layers.append(nn.ReLU())
        macs = sum(a * b for a, b in zip(widths, widths[1:]))
        example = torch.randn(2, widths[0]) * 3
        kind, text = "mlp", "-".join(map(str, widths))
    else:
        c, side = rng.choice((1, 2, 3)), rng.choice((6, 8, 10))
        o1, o2 = rng.choice((4, 8)), rng.choice((4, 8, 16))
        f1 = _layer_formats(rng, data)
        a1 = _format(rng, signed=False)
        f2 = _layer_formats(rng, a1)
        a2 = _format(rng, signed=False)
        f3 = _layer_formats(rng, a2)
        pooled = side // 2
        layers = [
            nn.Conv2d(c, o1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(o1, o2, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(o2 * pooled * pooled, rng.randint(2, 10)),
        ]
        by_name = {
            "0": f1,
            "1": {"data_in": f1["data_out"], "data_out": a1},
            "3": f2,
            "4": {"data_in": f2["data_out"], "data_out": a2},
            "6": f3,
        }
        macs = side * side * 9 * c * o1 + pooled * pooled * 9 * o1 * o2
        example = torch.randn(2, c, side, side) * 3
        kind, text = "cnn", f"{c}x{side}x{side} conv{o1} pool conv{o2} fc"
    default = {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}
    net = nn.Sequential(*layers).eval()
    _randomize(net, {k: v for k, v in by_name.items() if "weight" in v}, seed)
    model = quantize_model(net, QuantConfig.from_dict({"default": default, "by_name": by_name}))
    cycles = rng.choice([max(1, macs // d) for d in (4, 16, 64, 256)])
    return model, example, cycles, kind, text


#: FINN's TFC shape: 784 inputs, three hidden layers of 64, 10 outputs, ReLUs between.
TFC_WIDTHS = (784, 64, 64, 64, 10)


def tfc(bits: int, seed: int = 0) -> nn.Module:
    """The quantized TFC-shaped MLP with ``bits``-bit weights (``[bits, bits - 1]``) and unsigned
    ``bits``-bit activations (the input pixels and every ReLU output), 8-bit linear outputs and
    biases, weights drawn uniformly over the weight format (PyTorch's default initialisation of a
    wide layer rounds most narrow weights to 0, and Yosys would remove that datapath)."""
    w_t, a_t = [bits, bits - 1], [bits, bits - 1, "unsigned"]
    layers: list[nn.Module] = []
    for i, (k, n) in enumerate(zip(TFC_WIDTHS, TFC_WIDTHS[1:])):
        layers.append(nn.Linear(k, n))
        if i < len(TFC_WIDTHS) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers).eval()
    formats = {"data_in": a_t, "weight": w_t, "bias": [8, 2], "data_out": [8, 2]}
    _randomize(model, {str(i): formats for i in range(0, len(layers), 2)}, seed)
    config = {"default": formats, "by_type": {"relu": {"data_in": [8, 2], "data_out": a_t}}}
    return quantize_model(model, QuantConfig.from_dict(config)).eval()


def _randomize(model: nn.Module, formats: dict[str, dict[str, Any]], seed: int) -> None:
    """Weights and biases of the layers named in ``formats`` drawn uniformly from every value of
    their formats (``[width, frac]``), so that no weight format collapses to zeros."""
    gen = torch.Generator().manual_seed(seed)
    for name, fmt in formats.items():
        layer = model.get_submodule(name)
        for attr, key in (("weight", "weight"), ("bias", "bias")):
            param = getattr(layer, attr, None)
            if param is None:
                continue
            width, frac = fmt[key][0], fmt[key][1]
            values = torch.randint(-(2 ** (width - 1)), 2 ** (width - 1), param.shape, generator=gen)
            with torch.no_grad():
                param.copy_(values / 2**frac)


def evaluate(seed: int, folder: Path) -> HeldOut:
    """Map, emit and flat-synthesize :func:`random_design` ``seed`` in ``folder``."""
    model, example, cycles, kind, text = random_design(seed)
    g = map_model(model, example, cycles=cycles)
    design = emit_design(g, folder / f"design{seed}")
    report = synthesize(design.top, design.memory_parameters(), design.sources, design.out_dir / "synth")
    assert g.info.resources is not None
    measured = {"lut": report.lut, "ff": report.ff, "dsp": report.dsp, "bram": report.bram}
    return HeldOut(
        seed=seed,
        kind=kind,
        description=text,
        cycles=int(g.info.predicted_cycles or cycles),
        estimate=g.info.resources.as_dict(),
        measured=measured,
        seconds=report.seconds,
    )
