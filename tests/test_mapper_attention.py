"""The mapper on a quantized BERT encoder: capture of the attention (heads as stream layouts, the
two matmuls, the folded score scale, softmax, layer norms, residuals, GELU), the golden network
equal to the quantized model, folding, and (sim) the accelerator bit-exact under random stalls
with cycles and latency equal to the prediction."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mapper.capture import capture
from mapper.errors import MappingError
from mapper.flow import capture_graph, fold_graph, run_flow
from mapper.network import golden_network, model_integers, quantize_inputs
from quant.attention import BERT_8BIT, encoder_of
from quant.config import QuantConfig
from quant.transform import quantize_model


def bert_encoder(heads: int = 2, layers: int = 1, hidden: int = 64, ffn: int = 128, seed: int = 0) -> nn.Module:
    """A quantized BERT encoder (EncoderStack) with random weights."""
    import transformers as tr

    config = tr.BertConfig(
        vocab_size=40,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
        max_position_embeddings=32,
        num_labels=2,
    )
    torch.manual_seed(seed)
    model = tr.BertForSequenceClassification(config).eval()
    return encoder_of(quantize_model(model, QuantConfig.from_dict(BERT_8BIT))).eval()


def sequences(count: int, tokens: int = 16, hidden: int = 64, seed: int = 1) -> torch.Tensor:
    """Embedded sequences whose values are exact in s8.4 (the encoder's input format)."""
    g = torch.Generator().manual_seed(seed)
    return torch.clamp(torch.round(torch.randn(count, tokens, hidden, generator=g) * 16), -128, 127) / 16


def test_encoder_layer_capture() -> None:
    enc = bert_encoder()
    g = capture_graph(enc, sequences(2))
    ops = [n.op for n in g.operations()]
    assert ops.count("linear") == 6 and ops.count("matmul") == 2 and ops.count("layernorm") == 2
    assert ops.count("softmax") == 1 and ops.count("add") == 2 and ops.count("activation") == 1
    scores, context = (n for n in g if n.op == "matmul")
    assert scores.attrs["transpose_b"] and not context.attrs["transpose_b"]
    assert (scores.attrs["heads"], scores.attrs["rows"], scores.attrs["k"], scores.attrs["n"]) == (2, 16, 32, 16)
    assert (context.attrs["k"], context.attrs["n"]) == (16, 32)
    assert (scores.attrs["scale"], scores.attrs["scale_frac"]) == (2896, 14)  # ~ 1 / sqrt(32)
    assert any("mul" in f for f in scores.folded)  # the float twin's scale multiply is folded
    assert g.producers(scores.name) == ["linear", "linear_1"]  # Q, K
    assert g.producers(context.name) == ["softmax", "linear_2"]  # probabilities, V
    assert {n.component for n in g if n.op in ("matmul", "softmax", "layernorm")} == {
        "fixed_matmul",
        "fixed_softmax",
        "fixed_layernorm",
    }
    fork = g[g.consumers("data_in")[0]]
    assert fork.op == "fork" and fork.attrs["consumers"] == 4  # Q, K, V and the residual


@pytest.mark.parametrize(("heads", "layers"), [(1, 1), (2, 1), (4, 2)])
def test_golden_network_equals_the_quantized_encoder(heads: int, layers: int) -> None:
    enc = bert_encoder(heads, layers)
    x = sequences(6)
    g = capture_graph(enc, x[:2])
    assert (golden_network(g, quantize_inputs(g, x)) == model_integers(enc, g, x)).all()


@pytest.mark.parametrize("cycles", [256, 1024, 4096])
def test_folding_meets_the_target(cycles: int) -> None:
    g = fold_graph(capture_graph(bert_encoder(), sequences(2)), cycles)
    assert g.info.predicted_cycles <= cycles
    for n in g:
        if n.component == "fixed_matmul":
            assert n.attrs["k"] % n.fold.in_lanes == 0 and n.attrs["n"] % n.fold.out_lanes == 0
    # the Q path waits for the whole K of its sequence: a FIFO holds it
    assert any(n.op == "fifo" and g.consumers(n.name) == ["matmul"] for n in g)


def test_refusals_name_the_node() -> None:
    class BadSoftmax(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.transpose(1, 2)

    q = quantize_model(nn.Sequential(nn.Linear(4, 4), BadSoftmax()), QuantConfig.from_dict(BERT_8BIT))
    with pytest.raises(MappingError, match=r"node 'transpose': transpose of a tensor outside the attention"):
        capture(q, torch.randn(2, 3, 4))


@pytest.mark.sim
def test_encoder_layer_bit_exact_and_on_time(tmp_path) -> None:  # type: ignore[no-untyped-def]
    enc = bert_encoder()
    r = run_flow(enc, sequences(6), tmp_path / "enc", cycles=1024, synth=False)
    assert r.mismatches == r.golden_model_mismatches == r.accelerator_model_mismatches == 0
    assert r.measured_cycles_per_inference == r.predicted_cycles_per_inference == 1024
    assert r.measured_latency == r.predicted_latency


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize(("heads", "layers", "cycles"), [(1, 1, 512), (4, 2, 2048), (2, 2, 300)])
def test_encoders_bit_exact_and_on_time(tmp_path, heads: int, layers: int, cycles: int) -> None:  # type: ignore[no-untyped-def]
    enc = bert_encoder(heads, layers)
    r = run_flow(enc, sequences(12), tmp_path / "enc", cycles=cycles, synth=False)
    assert r.mismatches == r.golden_model_mismatches == r.accelerator_model_mismatches == 0
    assert r.measured_cycles_per_inference == r.predicted_cycles_per_inference
    assert r.measured_latency == r.predicted_latency
