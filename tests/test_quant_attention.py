"""quant/attention.py computes exactly golden/attention.py, and the quantization pass converts
BERT / RoBERTa (attention, layer norms, GELU) while GPT-2 and OPT keep their float attention."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from golden.attention import layernorm, matmul, score_scale, softmax
from golden.fixed import FixedType
from quant.attention import (
    BERT_8BIT,
    EncoderStack,
    LayerNorm,
    MatMul,
    QuantLayerNorm,
    QuantMatMul,
    QuantSoftmax,
    SelfAttention,
    Softmax,
    encoder_of,
    prepare_transformer,
)
from quant.config import LayerFormats, QuantConfig
from quant.transform import dequantize_model, load_quantized, quantizable_layers, quantize_model, save_quantized

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BERT_QUANT = BERT_8BIT


def raw(rng: np.random.Generator, t: FixedType, shape: tuple[int, ...]) -> np.ndarray:
    values = rng.integers(t.min_int, t.max_int + 1, size=shape)
    return np.where(rng.random(shape) < 0.1, rng.choice([t.min_int, t.max_int], size=shape), values)


def as_float(q: np.ndarray, t: FixedType) -> torch.Tensor:
    return torch.from_numpy(q.astype(np.float64) * 2.0**-t.frac).float()


def as_raw(y: torch.Tensor, t: FixedType) -> np.ndarray:
    scaled = y.detach().double().numpy() * 2.0**t.frac
    assert np.array_equal(scaled, np.round(scaled)), "output is not a multiple of its format's step"
    return np.round(scaled).astype(np.int64)


@given(st.integers(0, 10**6), st.sampled_from(["scores", "context"]), st.integers(1, 48))
@SETTINGS
def test_quant_matmul_equals_golden(seed: int, role: str, k: int) -> None:
    rng = np.random.default_rng(seed)
    a_t = FixedType(8, 4) if role == "scores" else FixedType(9, 8, False)
    b_t, out_t = FixedType(int(rng.integers(4, 12)), int(rng.integers(0, 6))), FixedType(10, 4)
    scale, frac = score_scale(k) if role == "scores" else (1, 0)
    module = QuantMatMul(MatMul(role, scale, frac), LayerFormats(a_t, b_t, None, out_t))
    a, b = raw(rng, a_t, (2, 3, 5, k)), raw(rng, b_t, (2, 3, k, 4))
    y = module(as_float(a, a_t), as_float(b, b_t))
    assert np.array_equal(as_raw(y, out_t), matmul(a, a_t, b, b_t, out_t, scale, frac))


@given(st.integers(0, 10**6), st.integers(1, 40), st.booleans())
@SETTINGS
def test_quant_softmax_equals_golden(seed: int, n: int, masked: bool) -> None:
    rng = np.random.default_rng(seed)
    in_t = FixedType(int(rng.integers(4, 11)), int(rng.integers(0, 6)))
    out_t = FixedType(9, 8, False) if rng.random() < 0.5 else FixedType(8, 6)
    module = QuantSoftmax(Softmax(64), LayerFormats(in_t, None, None, out_t))
    x = raw(rng, in_t, (3, 2, n))
    keep = rng.random((3, 2, n)) < 0.7 if masked else np.ones((3, 2, n), dtype=bool)
    keep[..., 0] = True
    mask = None if not masked else torch.from_numpy(np.where(keep, 0.0, torch.finfo(torch.float32).min)).float()
    y = module(as_float(x, in_t), mask)
    want = softmax(x, in_t, out_t, module.e_frac, module.r_frac, mask=keep if masked else None)
    assert np.array_equal(as_raw(y, out_t), want)
    if masked:  # a boolean mask (sdpa's) means the same
        assert torch.equal(module(as_float(x, in_t), torch.from_numpy(keep)), y)


@given(st.integers(0, 10**6), st.integers(1, 64), st.sampled_from([0.0, 1e-12, 1e-5]))
@SETTINGS
def test_quant_layernorm_equals_golden(seed: int, n: int, eps: float) -> None:
    rng = np.random.default_rng(seed)
    in_t, g_t, b_t, out_t = FixedType(10, 4), FixedType(8, 6), FixedType(8, 5), FixedType(8, 4)
    ln = nn.LayerNorm(n, eps=eps)
    with torch.no_grad():
        ln.weight.copy_(torch.from_numpy(rng.normal(1.0, 0.4, n)))
        ln.bias.copy_(torch.from_numpy(rng.normal(0.0, 0.5, n)))
    module = QuantLayerNorm(ln, LayerFormats(in_t, g_t, b_t, out_t))
    x = raw(rng, in_t, (4, 3, n))
    x[0, 0] = x[0, 0, 0]  # a constant row
    y = module(as_float(x, in_t))
    want = layernorm(
        x,
        in_t,
        module.int_weight().numpy(),
        g_t,
        module.int_bias().numpy(),
        b_t,
        out_t,
        module.eps_int,
        module.rsqrt_frac,
        module.sqrt_extra,
    )
    assert np.array_equal(as_raw(y, out_t), want)


def test_quant_layernorm_refuses_formats_past_int64() -> None:
    with pytest.raises(ValueError, match="exact up to 62 bits"):
        QuantLayerNorm(
            nn.LayerNorm(64), LayerFormats(FixedType(24, 8), FixedType(16, 12), FixedType(8, 6), FixedType(8, 4))
        )


def tiny_config(arch: str = "bert"):  # type: ignore[no-untyped-def]
    import transformers as tr

    common = {"vocab_size": 40, "num_labels": 2, "pad_token_id": 0}
    if arch == "bert":
        return tr.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, **common)
    if arch == "roberta":
        return tr.RobertaConfig(
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=4,
            intermediate_size=64,
            max_position_embeddings=40,
            **common,
        )
    if arch == "gpt2":
        return tr.GPT2Config(n_embd=32, n_layer=1, n_head=2, n_positions=32, **common)
    return tr.OPTConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        ffn_dim=64,
        word_embed_proj_dim=32,
        max_position_embeddings=32,
        **common,
    )


def classifier(arch: str) -> nn.Module:
    import transformers as tr

    torch.manual_seed(0)
    cls = {
        "bert": tr.BertForSequenceClassification,
        "roberta": tr.RobertaForSequenceClassification,
        "gpt2": tr.GPT2ForSequenceClassification,
        "opt": tr.OPTForSequenceClassification,
    }[arch]
    return cls(tiny_config(arch)).eval()


@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_bert_and_roberta_attention_is_quantized(arch: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = classifier(arch)
    q = quantize_model(model, QuantConfig.from_dict(BERT_QUANT)).eval()
    kinds = {type(m).__name__ for m in q.modules()}
    assert {"SelfAttention", "QuantMatMul", "QuantSoftmax", "QuantLayerNorm", "QuantActivation"} <= kinds
    assert not {"BertSelfAttention", "RobertaSelfAttention", "GELUActivation"} & kinds
    assert not any(type(m) is nn.LayerNorm for m in q.modules())
    ids = torch.randint(1, 40, (3, 12))
    mask = torch.ones_like(ids)
    mask[0, 8:] = 0
    with torch.no_grad():
        y = q(ids, attention_mask=mask).logits
        # the float twin keeps the structure and computes the original model's function
        twin = dequantize_model(q).eval()
        assert torch.allclose(twin(ids, attention_mask=mask).logits, model(ids, attention_mask=mask).logits, atol=1e-5)
    folder = save_quantized(q, QuantConfig.from_dict(BERT_QUANT), tmp_path / "q", {"model": arch})
    again = load_quantized(folder, classifier(arch)).eval()
    with torch.no_grad():
        assert torch.equal(again(ids, attention_mask=mask).logits, y)


def test_attention_operations_equal_golden_inside_a_quantized_bert() -> None:
    """The softmax and both matmuls of a quantized BERT layer, on the values the model feeds them."""
    q = quantize_model(classifier("bert"), QuantConfig.from_dict(BERT_QUANT)).eval()
    attn = q.bert.encoder.layer[0].attention.self
    seen: dict[str, tuple] = {}
    hooks = [
        getattr(attn, name).register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, (i, o)))
        for name in ("scores", "softmax", "context")
    ]
    with torch.no_grad():
        q(torch.randint(1, 40, (2, 10)))
    for h in hooks:
        h.remove()
    (s_in, s_out), (p_in, p_out), (_, c_out) = seen["scores"], seen["softmax"], seen["context"]
    f = attn.scores.formats
    qa, qb = as_raw(s_in[0], f.data_in), as_raw(s_in[1], f.weight)
    assert np.array_equal(
        as_raw(s_out, f.data_out),
        matmul(qa, f.data_in, qb, f.weight, f.data_out, attn.scores.scale, attn.scores.scale_frac),
    )
    sf = attn.softmax.formats
    want = softmax(as_raw(p_in[0], sf.data_in), sf.data_in, sf.data_out, attn.softmax.e_frac, attn.softmax.r_frac)
    assert np.array_equal(as_raw(p_out, sf.data_out), want)
    assert as_raw(c_out, attn.context.formats.data_out).shape == (2, 2, 10, 16)


@pytest.mark.parametrize("arch", ["gpt2", "opt"])
def test_gpt2_and_opt_keep_float_attention(arch: str) -> None:
    model = classifier(arch)
    assert prepare_transformer(model) == 0
    q = quantize_model(model, QuantConfig.from_dict(BERT_QUANT)).eval()
    kinds = {type(m).__name__ for m in q.modules()}
    assert not {"SelfAttention", "QuantMatMul", "QuantSoftmax", "QuantLayerNorm"} & kinds
    assert any(isinstance(m, nn.LayerNorm) and not isinstance(m, LayerNorm) for m in q.modules())
    with torch.no_grad():
        assert torch.isfinite(q(torch.randint(1, 40, (2, 8))).logits).all()


def test_encoder_stack_is_the_models_encoder() -> None:
    model = classifier("bert")
    stack = encoder_of(model)
    assert isinstance(stack, EncoderStack) and stack.layers is model.bert.encoder.layer
    x = torch.randn(2, 9, 32)
    with torch.no_grad():
        want = model.bert.encoder(x).last_hidden_state
        assert torch.allclose(stack(x), want, atol=1e-6)
    q = quantize_model(model, QuantConfig.from_dict(BERT_QUANT)).eval()
    assert isinstance(encoder_of(q).layers[0].attention.self, SelfAttention)
    with pytest.raises(ValueError, match="no BERT"):
        encoder_of(nn.Linear(2, 2))


def test_quantizable_layers_of_a_bert_list_the_attention() -> None:
    model = classifier("bert")
    kinds = quantizable_layers(model)
    assert kinds["bert.encoder.layer.0.attention.self.scores"] == "scores"
    assert kinds["bert.encoder.layer.1.attention.self.context"] == "context"
    assert kinds["bert.encoder.layer.0.output.LayerNorm"] == "layernorm"
    assert kinds["bert.encoder.layer.0.intermediate.intermediate_act_fn"] == "gelu"
    assert type(model.bert.encoder.layer[0].attention.self).__name__ == "BertSelfAttention"  # untouched
