"""Quantized PyTorch modules against golden/: raw integers compared for exact equality."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch
from torch import nn

from common.errors import ConfigError
from golden import components
from golden.conv import conv2d as golden_conv2d
from golden.fixed import FixedType, float_to_fixed
from quant import torch_fixed as tf
from quant.config import LayerFormats, QuantConfig
from quant.modules import QuantConv2d, QuantLinear, QuantReLU
from quant.transform import load_quantized, quantize_model, save_quantized

# (data_in, weight, bias, data_out): 4, 8 and 16 bits, shifts both ways (out frac above and below
# the accumulator's), negative and beyond-width fractions.
FORMATS = [
    (FixedType(4, 2), FixedType(4, 3), FixedType(4, 3), FixedType(4, 1)),
    (FixedType(8, 4), FixedType(8, 6), FixedType(8, 6), FixedType(8, 4)),
    (FixedType(8, 4), FixedType(8, 7), FixedType(8, 2), FixedType(8, 13)),  # out finer than acc
    (FixedType(16, 8), FixedType(16, 12), FixedType(16, 10), FixedType(16, 6)),
    (FixedType(8, -2), FixedType(8, 9), FixedType(8, 3), FixedType(8, -1)),  # negative fracs
    (FixedType(8, 4), FixedType(8, 6), FixedType(8, 6), FixedType(8, 4, signed=False)),
]


def _out_int(y: torch.Tensor, t: FixedType) -> np.ndarray:
    """Raw integers of a module's float output; asserts they are whole numbers."""
    scaled = y.detach().to(torch.float64) * (2.0**t.frac)
    assert torch.equal(scaled, torch.round(scaled)), "output is not on the data_out grid"
    return scaled.to(torch.int64).numpy()


def _rand(shape: tuple[int, ...], gen: torch.Generator, spread: float) -> torch.Tensor:
    """Random floats with exact ties (x.5 LSB) mixed in, so rounding of halves is exercised."""
    x = torch.randn(shape, generator=gen) * spread
    x[..., ::3] = torch.round(x[..., ::3] * 16) / 16 + 1 / 32
    return x


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@pytest.mark.parametrize("with_bias", [True, False])
def test_quant_linear_equals_golden(fmt: tuple[FixedType, ...], with_bias: bool) -> None:
    data_in, weight, bias, data_out = fmt
    gen = torch.Generator().manual_seed(zlib.crc32(repr((fmt, with_bias)).encode()))
    layer = nn.Linear(13, 7, bias=with_bias)
    with torch.no_grad():
        layer.weight.copy_(_rand((7, 13), gen, 0.7))
        if with_bias:
            layer.bias.copy_(_rand((7,), gen, 1.5))
    m = QuantLinear(layer, LayerFormats(data_in, weight, bias, data_out))
    x = _rand((5, 3, 13), gen, 3.0)
    y = m(x)
    w_int = float_to_fixed(layer.weight.detach().numpy(), weight)
    b_int = float_to_fixed(layer.bias.detach().numpy(), bias) if with_bias else None
    assert np.array_equal(m.int_weight().numpy(), w_int)
    if with_bias:
        assert np.array_equal(m.int_bias().numpy(), b_int)
    else:
        assert m.int_bias() is None
    expect = components.linear(
        float_to_fixed(x.numpy(), data_in),
        w_int,
        b_int,
        data_in,
        weight,
        bias if with_bias else None,
        data_out,
    )
    assert np.array_equal(_out_int(y, data_out), expect)
    assert m.int_weight().dtype == torch.int64


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("stride,padding", [((1, 1), (1, 1)), ((2, 1), (0, 2))])
def test_quant_conv2d_equals_golden(
    fmt: tuple[FixedType, ...], with_bias: bool, stride: tuple[int, int], padding: tuple[int, int]
) -> None:
    data_in, weight, bias, data_out = fmt
    gen = torch.Generator().manual_seed(zlib.crc32(repr((fmt, with_bias, stride)).encode()))
    layer = nn.Conv2d(3, 4, (3, 2), stride=stride, padding=padding, bias=with_bias)
    with torch.no_grad():
        layer.weight.copy_(_rand(tuple(layer.weight.shape), gen, 0.6))
        if with_bias:
            layer.bias.copy_(_rand((4,), gen, 1.5))
    m = QuantConv2d(layer, LayerFormats(data_in, weight, bias, data_out))
    x = _rand((2, 3, 7, 6), gen, 3.0)
    w_int = float_to_fixed(layer.weight.detach().numpy(), weight)
    b_int = float_to_fixed(layer.bias.detach().numpy(), bias) if with_bias else None
    expect = golden_conv2d(
        float_to_fixed(x.numpy(), data_in),
        w_int,
        b_int,
        data_in,
        weight,
        bias if with_bias else None,
        data_out,
        stride,
        padding,
    )
    assert np.array_equal(m.int_weight().numpy(), w_int)
    assert np.array_equal(_out_int(m(x), data_out), expect)


def test_golden_conv2d_matches_float_conv_when_exact() -> None:
    """Independent check of golden/conv.py: with a wide output format no rounding happens, so the
    integers equal torch's float conv of the integer tensors (small values: float is exact)."""
    rng = np.random.default_rng(3)
    x = rng.integers(-8, 8, (2, 3, 6, 5))
    w = rng.integers(-8, 8, (4, 3, 3, 3))
    b = rng.integers(-8, 8, 4)
    t = FixedType(8, 0)
    out = golden_conv2d(x, w, b, t, t, t, FixedType(32, 0), (2, 1), (1, 1))
    ref = torch.nn.functional.conv2d(
        torch.tensor(x, dtype=torch.float64),
        torch.tensor(w, dtype=torch.float64),
        torch.tensor(b, dtype=torch.float64),
        (2, 1),
        (1, 1),
    )
    assert np.array_equal(out, ref.numpy().astype(np.int64))


@pytest.mark.parametrize(
    "data_in,data_out",
    [
        (FixedType(8, 4), FixedType(8, 4, signed=False)),
        (FixedType(8, 4), FixedType(4, 1, signed=False)),
        (FixedType(16, 10), FixedType(8, 3)),
        (FixedType(4, 1), FixedType(8, 5)),
        (FixedType(8, -1), FixedType(16, 2, signed=False)),
    ],
    ids=str,
)
def test_quant_relu_equals_golden(data_in: FixedType, data_out: FixedType) -> None:
    gen = torch.Generator().manual_seed(7)
    x = _rand((4, 50), gen, 6.0)
    m = QuantReLU(LayerFormats(data_in, None, None, data_out))
    q_in = float_to_fixed(x.numpy(), data_in)
    assert np.array_equal(_out_int(m(x), data_out), components.relu(q_in, data_in, data_out))


@pytest.mark.parametrize(
    "t",
    [FixedType(4, 2), FixedType(8, 7), FixedType(16, -3), FixedType(32, 20), FixedType(8, 3, signed=False)],
    ids=str,
)
def test_torch_float_to_fixed_equals_golden(t: FixedType) -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.cat([_rand((400,), gen, 2.0 ** (t.width - t.frac - 1)), torch.tensor([float("inf"), -float("inf")])])
    assert np.array_equal(tf.float_to_fixed(x, t).numpy(), float_to_fixed(x.numpy(), t))


def test_chain_of_layers_with_different_formats_is_exact() -> None:
    """Each module requantizes its input, so a model equals the golden chain layer by layer."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    cfg = QuantConfig.from_dict(
        {
            "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [10, 6]},
            "by_type": {"relu": {"data_out": [6, 3, "unsigned"]}},
            "by_name": {"2": {"data_in": [5, 3], "weight": [4, 3]}},
        }
    )
    qm = quantize_model(model, cfg)
    x = torch.randn(9, 6) * 2
    a = components.linear(
        float_to_fixed(x.numpy(), FixedType(8, 4)),
        qm[0].int_weight().numpy(),
        qm[0].int_bias().numpy(),
        FixedType(8, 4),
        FixedType(8, 6),
        FixedType(8, 6),
        FixedType(10, 6),
    )
    # ReLU quantizes its float input with its own data_in (8, 4): a round from frac 6 to 4.
    a_in = float_to_fixed(a * 2.0**-6, FixedType(8, 4))
    r = components.relu(a_in, FixedType(8, 4), FixedType(6, 3, False))
    r_in = float_to_fixed(r * 2.0**-3, FixedType(5, 3))
    out = components.linear(
        r_in,
        qm[2].int_weight().numpy(),
        qm[2].int_bias().numpy(),
        FixedType(5, 3),
        FixedType(4, 3),
        FixedType(8, 6),
        FixedType(10, 6),
    )
    assert np.array_equal(_out_int(qm(x), FixedType(10, 6)), out)
    assert isinstance(qm[1], QuantReLU) and qm[1].formats.data_out == FixedType(6, 3, False)
    assert qm[2].formats.weight == FixedType(4, 3) and qm[0].formats.weight == FixedType(8, 6)


def test_straight_through_gradients_reach_float_weights() -> None:
    torch.manual_seed(0)
    layer = nn.Linear(4, 3)
    fmts = LayerFormats(FixedType(8, 4), FixedType(8, 6), FixedType(8, 6), FixedType(8, 4))
    m = QuantLinear(layer, fmts)
    x = torch.randn(5, 4, requires_grad=True)
    m(x).sum().backward()
    assert m.weight.grad is not None and m.weight.grad.abs().sum() > 0
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_save_and_load_roundtrip(tmp_path) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    cfg = QuantConfig.from_dict(
        {
            "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
            "by_name": {"2": {"weight": [4, 3]}},
        }
    )
    qm = quantize_model(model, cfg)
    folder = save_quantized(qm, cfg, tmp_path / "q", {"model": "seq"})
    fresh = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    back = load_quantized(folder, fresh)
    x = torch.randn(4, 6)
    assert torch.equal(back(x), qm(x))
    assert back[2].formats.weight == FixedType(4, 3)
    with pytest.raises(ConfigError, match="does not fit"):
        load_quantized(folder, nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3)))


@pytest.mark.parametrize(
    "table,match",
    [
        (
            {"default": {"data_in": [8, 4], "wieght": [8, 6]}},
            "unknown key 'wieght'.*allowed keys: bias, data_in",
        ),
        ({"defaults": {}}, "unknown key 'defaults'.*allowed keys: by_name, by_type, default"),
        (
            {"by_type": {"rmsnorm": {"data_out": [8, 4]}}},
            "unknown key 'rmsnorm'.*conv2d, gelu, layernorm, linear, relu",
        ),
        ({"default": {"data_in": [8, "4"]}}, "quantize.default.data_in must be"),
        ({"default": {"data_in": [8, 4, "unsgned"]}}, "unsigned"),
        ({"default": {"data_in": [40, 4]}}, "width must be"),
    ],
)
def test_config_errors_name_the_key(table: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        QuantConfig.from_dict(table)


def test_config_precedence_and_missing_field() -> None:
    cfg = QuantConfig.from_dict(
        {
            "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
            "by_type": {"linear": {"weight": [6, 5]}, "relu": {"data_out": [8, 4, "unsigned"]}},
            "by_name": {"fc2": {"weight": [4, 3]}},
        }
    )
    assert cfg.formats_for("fc2", "linear").weight == FixedType(4, 3)
    assert cfg.formats_for("fc1", "linear").weight == FixedType(6, 5)
    assert cfg.formats_for("fc1", "conv2d").weight == FixedType(8, 6)
    relu = cfg.formats_for("act", "relu")
    assert relu.weight is None and relu.data_out == FixedType(8, 4, False)
    assert QuantConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="no 'weight' format for layer 'fc1'"):
        QuantConfig.from_dict({"default": {"data_in": [8, 4], "data_out": [8, 4]}}).formats_for("fc1", "linear")


def test_quantized_models_export_and_match_eager_exactly() -> None:
    """torch.export captures quantized models (the mapper's entry point) with identical outputs."""
    from sw_frontend.models import MLP, SmallCNN

    cfg = QuantConfig.from_dict({"default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}})
    torch.manual_seed(0)
    x = torch.rand(3, 1, 8, 8)
    for model in (MLP(64, 32, 10), SmallCNN((1, 8, 8), 10)):
        q = quantize_model(model, cfg).eval()
        exported = torch.export.export(q, (x,))
        assert torch.equal(exported.module()(x), q(x))


def test_nan_input_is_refused_like_golden() -> None:
    m = QuantReLU(LayerFormats(FixedType(8, 4), None, None, FixedType(8, 4)))
    with pytest.raises(ValueError, match="NaN"):
        m(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="NaN"):
        float_to_fixed(np.array([float("nan")]), FixedType(8, 4))


@pytest.mark.parametrize(("groups", "cin", "cout"), [(4, 4, 4), (2, 4, 6), (3, 3, 6)], ids=["depthwise", "g2", "g3x2"])
def test_grouped_quant_conv2d_equals_golden(groups: int, cin: int, cout: int) -> None:
    """Grouped and depthwise convolutions (MobileNet / DS-CNN blocks): output group g reads only
    input group g, in the quantized module and in golden.conv.conv2d alike."""
    gen = torch.Generator().manual_seed(groups * 100 + cout)
    fmt = (FixedType(8, 4), FixedType(8, 6), FixedType(10, 8), FixedType(8, 4))
    layer = nn.Conv2d(cin, cout, 3, stride=2, padding=1, groups=groups)
    with torch.no_grad():
        layer.weight.copy_(_rand(tuple(layer.weight.shape), gen, 0.5))
        layer.bias.copy_(_rand((cout,), gen, 1.0))
    m = QuantConv2d(layer, LayerFormats(*fmt))
    x = _rand((3, cin, 7, 7), gen, 3.0)
    q = float_to_fixed(x.numpy(), fmt[0])
    want = golden_conv2d(q, m.int_weight().numpy(), m.int_bias().numpy(), *fmt, (2, 2), (1, 1), groups)
    assert np.array_equal(_out_int(m(x), fmt[3]), want)
    assert isinstance(m.to_float(), nn.Conv2d) and m.to_float().groups == groups
