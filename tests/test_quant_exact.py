"""The quantized PyTorch modules are exact wherever they accept a format, and refuse (naming the
layer and the limit) where their int64 arithmetic could not be: properties against an independent
reference on Python integers, over formats up to 32 bits with large fraction shifts.

Issue 9: a QuantLinear whose requantization shifts the accumulator left (an output with more
fraction bits than the accumulator) wrapped in int64; one whose accumulator passes 62 bits could
not be exact at all and is now refused when the model is quantized.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from common.errors import ConfigError
from golden.fixed import FixedType, accumulator_width
from quant import torch_fixed as tf
from quant.config import LayerFormats, QuantConfig
from quant.modules import QuantConv2d, QuantLinear, QuantReLU
from quant.transform import quantize_model


def ref_requantize(q: int, in_frac: int, out: FixedType) -> int:
    s = in_frac - out.frac
    v = (q + (1 << (s - 1))) >> s if s > 0 else q << -s
    return max(out.min_int, min(out.max_int, v))


types = st.builds(FixedType, width=st.integers(2, 32), frac=st.integers(-16, 48), signed=st.booleans())
signed = st.builds(FixedType, width=st.integers(2, 32), frac=st.integers(-16, 48))


def raw(t: FixedType) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from([t.min_int, t.max_int, 0]), st.integers(t.min_int, t.max_int))


@st.composite
def linear_cases(draw: st.DrawFn) -> tuple:
    k, n = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    in_t, w_t, out_t = draw(types), draw(signed), draw(types)
    has_bias = draw(st.booleans())
    acc_frac = in_t.frac + w_t.frac
    b_t = (
        draw(
            st.builds(
                FixedType,
                width=st.integers(2, 32),
                frac=st.integers(max(-32, acc_frac - 30), min(64, acc_frac)),
            )
        )
        if has_bias
        else None
    )
    x = [[draw(raw(in_t)) for _ in range(k)] for _ in range(2)]
    w = [[draw(raw(w_t)) for _ in range(k)] for _ in range(n)]
    b = [draw(raw(b_t)) for _ in range(n)] if b_t else None
    return k, n, LayerFormats(in_t, w_t, b_t, out_t), x, w, b


def make_linear(k: int, n: int, f: LayerFormats, w: list[list[int]], b: list[int] | None) -> QuantLinear:
    layer = nn.Linear(k, n, bias=b is not None).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w, dtype=torch.float64) * f.weight.scale)
        if b is not None:
            layer.bias.copy_(torch.tensor(b, dtype=torch.float64) * f.bias.scale)
    return QuantLinear(layer, f)


@given(linear_cases())
def test_quant_linear_is_exact_or_refused(case: tuple) -> None:
    k, n, f, x, w, b = case
    bits = accumulator_width(f.data_in, f.weight, k, b is not None, f.bias)
    if bits > tf.INT64_BITS:
        with pytest.raises(ValueError, match=f"need a {bits}-bit accumulator.*exact up to 62 bits"):
            make_linear(k, n, f, w, b)
        return
    q = make_linear(k, n, f, w, b)
    wi = q.int_weight().tolist()  # the weights as quantized (float parameters may round them)
    bi = q.int_bias().tolist() if b is not None else None
    acc_frac = f.data_in.frac + f.weight.frac
    want = [
        [
            ref_requantize(
                sum(xi * wj for xi, wj in zip(row, wi[j])) + (bi[j] << (acc_frac - f.bias.frac) if bi else 0),
                acc_frac,
                f.data_out,
            )
            for j in range(n)
        ]
        for row in x
    ]
    assert q.int_forward(torch.tensor(x, dtype=torch.int64)).tolist() == want
    xf = torch.tensor(x, dtype=torch.float64) * f.data_in.scale
    got = (q(xf).detach().double() * 2.0**f.data_out.frac).tolist()
    assert got == [[float(v) for v in row] for row in want]


@given(q=st.integers(-(1 << 32), 1 << 32), in_frac=st.integers(-64, 128), out=types)
def test_torch_requantize_any_shift(q: int, in_frac: int, out: FixedType) -> None:
    got = tf.requantize(torch.tensor([q], dtype=torch.int64), in_frac, out).tolist()
    assert got == [ref_requantize(q, in_frac, out)]


@given(q=st.integers(-(1 << 31), (1 << 31) - 1), in_t=types, out=types)
def test_quant_relu_any_formats(q: int, in_t: FixedType, out: FixedType) -> None:
    q = max(in_t.min_int, min(in_t.max_int, q))
    relu = QuantReLU(LayerFormats(in_t, None, None, out))
    assert relu.int_forward(torch.tensor([q])).tolist() == [ref_requantize(max(q, 0), in_t.frac, out)]


def test_left_shift_of_the_accumulator_no_longer_wraps() -> None:
    # s24.4 x s21.4 accumulator (8 fraction bits) into s10.37: a left shift by 29 bits
    f = LayerFormats(FixedType(24, 4), FixedType(21, 4), None, FixedType(10, 37))
    q = make_linear(3, 1, f, [[-(2**20), 5, 7]], None)
    x = torch.tensor([[2**23 - 1, -(2**23), 3]])
    acc = (2**23 - 1) * -(2**20) + -(2**23) * 5 + 3 * 7
    assert q.int_forward(x).tolist() == [[ref_requantize(acc, 8, f.data_out)]] == [[-512]]


def test_quantizing_a_model_past_62_bits_names_the_layer_and_the_limit() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    wide = {"data_in": [32, 0], "weight": [32, 0], "bias": [32, 0], "data_out": [32, 0]}
    config = QuantConfig.from_dict(
        {
            "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
            "by_name": {"2": wide},
        }
    )
    with pytest.raises(
        ConfigError,
        match=r"layer '2': QuantLinear: 3 products of s32.0 by s32.0 plus a s32.0 "
        r"bias need a 67-bit accumulator; .* exact up to 62 bits",
    ):
        quantize_model(model, config)


def test_quant_conv2d_refuses_and_computes_exactly() -> None:
    f = LayerFormats(FixedType(24, 0), FixedType(24, 0), None, FixedType(32, -20))
    conv = nn.Conv2d(2, 1, 2, bias=False).double()
    with torch.no_grad():
        conv.weight.fill_(-(2.0**23))
    q = QuantConv2d(conv, f)  # 8 products of 24 x 24 bits: 51 bits
    x = torch.full((1, 2, 2, 2), -(2**23), dtype=torch.int64)
    assert q.int_forward(x).tolist() == [[[[ref_requantize(8 * 2**46, 0, f.data_out)]]]]
    wide = LayerFormats(FixedType(32, 0), FixedType(32, 0), None, FixedType(32, 0))
    with pytest.raises(ValueError, match="QuantConv2d: 8 products of s32.0 by s32.0 need a 67-bit"):
        QuantConv2d(conv, wide)
