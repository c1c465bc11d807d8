"""QuantActivation (sigmoid, tanh, GELU, SiLU as table lookups) against golden.activation.

Every check between the module and the golden model is on integers with exact equality; each
case feeds all ``2**width`` raw inputs of ``data_in``, so every table entry is reached.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from common.errors import ConfigError
from golden.activation import activation_table, lookup, table_inputs
from golden.fixed import FixedType, float_to_fixed
from quant.config import LayerFormats, QuantConfig
from quant.modules import QuantActivation
from quant.transform import dequantize_model, load_quantized, quantize_model, save_quantized

NAMES = ("sigmoid", "tanh", "gelu", "silu")
FORMATS = [
    (FixedType(8, 4), FixedType(8, 4)),
    (FixedType(6, 2), FixedType(8, 7)),
    (FixedType(8, 4, False), FixedType(8, 8, False)),
    (FixedType(12, 8), FixedType(16, 12)),
    (FixedType(3, 0), FixedType(4, 3)),
    (FixedType(8, 6), FixedType(4, 1)),  # output saturates (tanh / gelu / silu beyond 3.5)
]
BASE = {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}


def _raw_out(m: QuantActivation, x: torch.Tensor) -> np.ndarray:
    """The module's outputs as raw integers of data_out (exactly: they must be multiples)."""
    scaled = m(x).double().numpy() * 2.0**m.formats.data_out.frac
    ints = np.round(scaled)
    assert np.array_equal(ints, scaled)
    return ints.astype(np.int64)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("in_t,out_t", FORMATS, ids=str)
def test_every_table_entry_equals_golden(name: str, in_t: FixedType, out_t: FixedType) -> None:
    m = QuantActivation(name, LayerFormats(in_t, None, None, out_t))
    q = table_inputs(in_t)  # every raw input, the one at position i has bit pattern i
    x = torch.from_numpy(q.astype(np.float64) * in_t.scale).float().reshape(-1, 2)
    table = activation_table(name, in_t, out_t)
    got = _raw_out(m, x)
    assert np.array_equal(got, lookup(q, table, in_t).reshape(x.shape))
    assert np.array_equal(got.reshape(-1), table)  # every entry reached, in bit-pattern order
    assert m(x).dtype == (torch.float32 if out_t.width <= 24 else torch.float64)


@pytest.mark.parametrize("name", NAMES)
def test_float_inputs_round_and_saturate_like_golden(name: str) -> None:
    in_t, out_t = FixedType(8, 4), FixedType(8, 6)
    m = QuantActivation(name, LayerFormats(in_t, None, None, out_t))
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(64, 8, generator=gen) * 6.0  # beyond +-8: saturating inputs too
    x[0, :3] = torch.tensor([100.0, -100.0, 0.03125])  # saturate both ends, a half-way value
    q = float_to_fixed(x.double().numpy(), in_t)
    assert np.array_equal(_raw_out(m, x), lookup(q, activation_table(name, in_t, out_t), in_t))


@pytest.mark.parametrize("name", NAMES)
def test_gradient_is_the_float_derivative_at_the_quantized_input(name: str) -> None:
    in_t = FixedType(8, 4)
    m = QuantActivation(name, LayerFormats(in_t, None, None, FixedType(8, 6)))
    x = (torch.randn(32) * 3).requires_grad_()
    m(x).sum().backward()
    xq = (torch.floor(x.detach().double() * 16 + 0.5).clamp(-128, 127) / 16).float().requires_grad_()
    m.to_float()(xq).sum().backward()
    assert torch.equal(x.grad, xq.grad)


def test_quantize_model_replaces_activations_with_formats_by_type_and_name() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 4), nn.Tanh(), nn.GELU(), nn.SiLU(), nn.ReLU())
    table = {
        "default": BASE,
        "by_type": {"sigmoid": {"data_out": [8, 8, "unsigned"]}, "gelu": {"data_in": [10, 6]}},
        "by_name": {"5": {"data_out": [6, 3]}},
    }
    q = quantize_model(model, QuantConfig.from_dict(table))
    kinds = [(type(q[i]).__name__, getattr(q[i], "name", None)) for i in range(7)]
    assert kinds == [
        ("QuantLinear", None),
        ("QuantActivation", "sigmoid"),
        ("QuantLinear", None),
        ("QuantActivation", "tanh"),
        ("QuantActivation", "gelu"),
        ("QuantActivation", "silu"),
        ("QuantReLU", None),
    ]
    assert q[1].formats == LayerFormats(FixedType(8, 4), None, None, FixedType(8, 8, False))
    assert q[4].formats.data_in == FixedType(10, 6) and q[4].table.shape == (1024,)
    assert q[5].formats.data_out == FixedType(6, 3)
    f = dequantize_model(q)
    assert [type(f[i]) for i in (1, 3, 4, 5)] == [nn.Sigmoid, nn.Tanh, nn.GELU, nn.SiLU]
    assert f[4].approximate == "none"


def test_quantized_model_exports_and_round_trips(tmp_path) -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3), nn.Sigmoid())
    cfg = QuantConfig.from_dict({"default": BASE, "by_type": {"sigmoid": {"data_out": [8, 8, "unsigned"]}}})
    q = quantize_model(model, cfg).eval()
    x = torch.randn(5, 6) * 2
    exported = torch.export.export(q, (x,))
    assert torch.equal(exported.module()(x), q(x))
    assert "3.table" not in q.state_dict()  # rebuilt from name and formats, never stored
    save_quantized(q, cfg, tmp_path / "m", {"model": "t"})
    back = load_quantized(tmp_path / "m", nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3), nn.Sigmoid()))
    assert torch.equal(back(x), q(x))


def test_gelu_tanh_approximation_is_refused() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.GELU(approximate="tanh"))
    with pytest.raises(
        ConfigError, match=r"^layer '1': GELU\(approximate='tanh'\) is not supported; use approximate='none'"
    ):
        quantize_model(model, QuantConfig.from_dict({"default": BASE}))


def test_over_wide_activation_input_is_refused_naming_the_layer() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    cfg = QuantConfig.from_dict({"default": BASE, "by_name": {"1": {"data_in": [13, 8]}}})
    with pytest.raises(ConfigError, match=r"^layer '1': tanh: data_in s13.8 is 13 bits wide; .*at most 12 input bits"):
        quantize_model(model, cfg)


def test_unknown_activation_and_unknown_type_key_are_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown activation 'exp'; allowed: sigmoid, tanh, gelu, silu"):
        QuantActivation("exp", LayerFormats(FixedType(8, 4), None, None, FixedType(8, 4)))
    with pytest.raises(
        ConfigError, match=r"unknown key 'rmsnorm'.*conv2d, gelu, layernorm, linear, relu, scores, sigmoid"
    ):
        QuantConfig.from_dict({"by_type": {"rmsnorm": {"data_out": [8, 4]}}})


def test_search_space_refuses_an_over_wide_activation_input_before_the_study() -> None:
    from sw_frontend.search.space import SearchSpace

    space = SearchSpace.from_dict(
        {
            "default": {
                "data_in": {"width": [8, 16], "frac": 4},
                "weight": {"width": 8, "frac": 6},
                "bias": {"width": 8, "frac": 6},
                "data_out": {"width": 8, "frac": 4},
            },
        }
    )
    model = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid())
    with pytest.raises(
        ConfigError,
        match=r"layer '1' \(sigmoid\) is a table of its input, so data_in widths must be <= 12; got choices \[8, 16\]",
    ):
        space.first(model)
