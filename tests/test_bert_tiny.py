"""The bert-tiny flow's Python API (sw_frontend/bert_tiny.py): data, the software / accelerator
split, and (slow) the whole flow on 200 sequences: 0 mismatches, cycles and latency as predicted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from golden.fixed import FixedType, float_to_fixed
from quant.attention import BERT_8BIT, encoder_of
from quant.config import QuantConfig
from quant.transform import quantize_model
from sw_frontend.bert_tiny import (
    HIDDEN,
    SEQ_LEN,
    accuracy,
    bert_tiny,
    embedded,
    head,
    load_data,
    logits,
    run_bert_tiny,
    train,
)

TOPICS = {
    "sport": "goal match team score player coach league win ball stadium season referee".split(),
    "food": "bread cheese soup kitchen recipe salt oven dinner taste fresh sugar spice".split(),
    "tech": "chip code memory server network cable robot laptop screen data cloud signal".split(),
}
FILLER = "the a of and to in is it on with for was this that very some".split()


def write_topics(root: Path, n_train: int = 300, n_test: int = 100, seed: int = 0) -> Path:
    """A small local classification set: three topics, each with its own words mixed with shared
    filler words, 6 to 20 words a line (label<TAB>text)."""
    rng = np.random.default_rng(seed)
    names = sorted(TOPICS)
    rows = []
    for _ in range(n_train + n_test):
        label = names[int(rng.integers(0, 3))]
        words = [
            str(rng.choice(TOPICS[label])) if rng.random() < 0.35 else str(rng.choice(FILLER))
            for _ in range(int(rng.integers(6, 21)))
        ]
        rows.append(f"{label}\t{' '.join(words)}")
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.tsv").write_text("\n".join(rows[:n_train]) + "\n")
    (root / "test.tsv").write_text("\n".join(rows[n_train:]) + "\n")
    return root


def test_data_from_text_files_or_random_ids(tmp_path: Path) -> None:
    text = load_data(str(write_topics(tmp_path / "topics")), 8)
    assert text.train_ids.shape[1] == SEQ_LEN and text.classes == 3 and not text.random
    assert len(text.test_ids) == 100 and "text files" in text.source
    rand = load_data(None, 8)
    assert rand.random and rand.train_ids.shape == (8, SEQ_LEN) and "random token ids" in rand.source


def test_software_head_after_the_encoder_is_the_quantized_model(tmp_path: Path) -> None:
    data = load_data(str(write_topics(tmp_path / "topics")), 8)
    model = bert_tiny(data.vocab_size, data.classes, layers=2)
    train(model, data.train_ids[:64], data.train_y[:64], epochs=1)
    q = quantize_model(model, QuantConfig.from_dict(BERT_8BIT)).eval()
    x = embedded(q, data.test_ids[:6])
    assert x.shape == (6, SEQ_LEN, HIDDEN)
    # the accelerator's input is exact in its format (the embeddings' layer norm is quantized)
    raw = float_to_fixed(x.numpy(), FixedType(8, 4))
    assert np.array_equal(raw * 2.0**-4, x.numpy())
    with torch.no_grad():
        split = head(q, encoder_of(q)(x))
        assert torch.equal(split, logits(q, data.test_ids[:6]))
    assert 0.0 <= accuracy(q, data.test_ids, data.test_y) <= 1.0


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("layers", [1, 2])
def test_bert_tiny_flow_on_200_sequences(tmp_path: Path, layers: int) -> None:
    result = run_bert_tiny(
        tmp_path / "hw", str(write_topics(tmp_path / "topics")), layers=layers, cycles=1024, epochs=15, synth=False
    )
    r = result.flow
    assert len(r.outputs) == 200
    assert r.mismatches == r.golden_model_mismatches == r.accelerator_model_mismatches == 0
    assert r.measured_cycles_per_inference == r.predicted_cycles_per_inference
    assert r.measured_latency == r.predicted_latency
    assert result.accelerator_accuracy == result.quantized_accuracy
    assert result.quantized_accuracy >= result.float_accuracy - 0.05 and result.float_accuracy > 0.8


@pytest.mark.slow
@pytest.mark.sim
def test_bert_tiny_flow_on_random_token_ids(tmp_path: Path) -> None:
    result = run_bert_tiny(tmp_path / "hw", None, layers=1, cycles=4096, sequences=200, synth=False)
    r = result.flow
    assert "random token ids" in result.source
    assert r.mismatches == r.golden_model_mismatches == r.accelerator_model_mismatches == 0
    assert r.measured_cycles_per_inference == r.predicted_cycles_per_inference
    assert r.measured_latency == r.predicted_latency


def test_the_example_config_is_the_flows_table() -> None:
    import tomllib

    path = Path(__file__).resolve().parents[1] / "sw_frontend" / "configs" / "transform_bert_text_8bit.toml"
    with open(path, "rb") as fh:
        assert tomllib.load(fh)["quantize"] == BERT_8BIT


def test_ch_flow_bert_tiny_refuses_other_data_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sw_frontend.cli import main

    assert main(["flow", "bert-tiny", "digits", "--output-root", str(tmp_path)]) != 0
    err = capsys.readouterr().err.strip()
    assert "'text'" in err and "'text-random'" in err and "\n" not in err
    missing = tmp_path / "nowhere"
    assert main(["flow", "bert-tiny", "text", "--data-dir", str(missing), "--output-root", str(tmp_path)]) != 0
    err = capsys.readouterr().err.strip()
    assert str(missing) in err and "text-random" in err and "\n" not in err
    assert main(["flow", "bert-tiny", "text-random", "--layers", "3", "--output-root", str(tmp_path)]) != 0
    assert "--layers" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.sim
def test_ch_flow_bert_tiny_on_local_text_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ch flow bert-tiny text`: trained on local files, 200 sequences bit-exact under stalls, the
    summary with accuracies, cycles and latency measured next to predicted, Yosys resources."""
    from sw_frontend.cli import main

    data = write_topics(tmp_path / "topics")
    args = ["flow", "bert-tiny", "text", "--data-dir", str(data), "--output-root", str(tmp_path), "--skip-pnr"]
    assert main([*args, "--max-epochs", "15"]) == 0
    s = json.loads((tmp_path / "bert-tiny_text" / "hardware" / "flow_summary.json").read_text())
    assert s["sequences simulated"] == 200 and s["mismatches accelerator vs golden"] == 0
    assert s["mismatches golden vs quantized PyTorch"] == s["mismatches accelerator vs quantized PyTorch"] == 0
    measured, predicted = s["cycles per inference (measured / predicted)"]
    assert measured == predicted == 1024
    assert s["latency, cycles (measured / predicted)"][0] == s["latency, cycles (measured / predicted)"][1]
    assert s["LUT (Yosys / estimate)"][0] > 0 and s["DSP (Yosys / estimate)"][0] >= 0
    assert s["float model accuracy"] > 0.8
    assert "mismatches accelerator vs golden" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.sim
def test_ch_flow_bert_tiny_without_text_files_runs_on_random_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --data-dir and no data/text: random token ids, said in a note and in the summary."""
    from sw_frontend.cli import main

    monkeypatch.chdir(tmp_path)
    args = ["flow", "bert-tiny", "text", "--output-root", "out", "--skip-synth", "--samples", "20"]
    assert main([*args, "--target-cycles", "4096"]) == 0
    assert "random token ids" in capsys.readouterr().out
    s = json.loads((tmp_path / "out" / "bert-tiny_text" / "hardware" / "flow_summary.json").read_text())
    assert "random token ids" in s["data"] and s["sequences simulated"] == 20
    assert s["mismatches accelerator vs golden"] == s["mismatches accelerator vs quantized PyTorch"] == 0
