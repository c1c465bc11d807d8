"""Front-end datasets and models on small files the tests write (no downloads): CIFAR pickles,
text and language-modelling files, ResNet-18 and transformers models, save_pretrained loading."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from common.errors import ConfigError
from quant.config import QuantConfig
from quant.modules import QuantLinear
from quant.transform import quantizable_layers, quantize_model
from sw_frontend.cli import main
from sw_frontend.data import WordTokenizer, load_dataset
from sw_frontend.models import HF_MODELS, build_model

WORDS = ["good", "bad", "great", "awful", "fine", "terrible", "nice", "poor"]


def write_cifar(root: Path, name: str, per_batch: int = 4) -> Path:
    """Fake CIFAR files in the official python-pickle layout (bytes keys, uint8 rows of 3072)."""
    label_key, classes = (b"labels", 10) if name == "cifar10" else (b"fine_labels", 100)

    def batch(n: int, seed: int) -> dict:
        r = np.random.default_rng(seed)
        return {
            b"batch_label": b"fake",
            label_key: r.integers(0, classes, n).tolist(),
            b"data": r.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [b"x.png"] * n,
        }

    if name == "cifar10":
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        for i in range(1, 6):
            (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch(per_batch, i)))
        (folder / "test_batch").write_bytes(pickle.dumps(batch(per_batch, 9)))
        (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"c"] * 10}))
    else:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True)
        (folder / "train").write_bytes(pickle.dumps(batch(5 * per_batch, 1)))
        (folder / "test").write_bytes(pickle.dumps(batch(per_batch, 9)))
        (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": [b"c"] * 100}))
    return folder


def write_text(root: Path, n_train: int = 40, n_test: int = 10) -> Path:
    """label<TAB>text lines: 'pos' sentences use even-index words, 'neg' odd ones."""
    rng = np.random.default_rng(0)
    rows = [
        ("pos" if i % 2 == 0 else "neg") + "\t" + " ".join(rng.choice(WORDS[i % 2 :: 2], 6))
        for i in range(n_train + n_test)
    ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.tsv").write_text("\n".join(rows[:n_train]) + "\n")
    (root / "test.tsv").write_text("\n".join(rows[n_train:]) + "\n")
    return root


def write_lm(root: Path) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.txt").write_text(" ".join(rng.choice(WORDS, 400)) + "\n")
    (root / "test.txt").write_text(" ".join(rng.choice(WORDS, 100)) + "\n")
    return root


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_loader_reads_the_pickle_layout(tmp_path: Path, name: str) -> None:
    folder = write_cifar(tmp_path / name, name)
    for data_dir in (folder, folder.parent):  # the CIFAR folder or its parent
        b = load_dataset(name, str(data_dir), 32)
        assert b.input_shape == (3, 32, 32) and b.num_classes == (10 if name == "cifar10" else 100)
        assert len(b.train) + len(b.val) == 20 and len(b.test) == 4
    raw = pickle.loads((folder / ("test_batch" if name == "cifar10" else "test")).read_bytes())
    x0, y0 = b.test[0]
    expect = (
        raw[b"data"][0].reshape(3, 32, 32) / 255.0 - np.array([0.4914, 0.4822, 0.4465])[:, None, None]
    ) / np.array([0.2470, 0.2435, 0.2616])[:, None, None]
    assert np.allclose(x0.numpy(), expect, atol=1e-5)  # float pixel normalisation, not bit-exact data
    assert int(y0) == raw[b"labels" if name == "cifar10" else b"fine_labels"][0]


def test_cifar_loader_refuses_foreign_pickles_and_missing_folders(tmp_path: Path) -> None:
    folder = write_cifar(tmp_path / "c", "cifar10")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "test_batch").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(ConfigError, match="builtins.print"):
        load_dataset("cifar10", str(folder), 32)
    with pytest.raises(ConfigError, match=r"no test_batch under .*nowhere; put the files of 'cifar-10-batches-py'"):
        load_dataset("cifar10", str(tmp_path / "nowhere"), 32)
    with pytest.raises(ConfigError, match="data/cifar100"):
        load_dataset("cifar100", None, 32)


def test_text_and_lm_loaders(tmp_path: Path) -> None:
    b = load_dataset("text", str(write_text(tmp_path / "text")), 12)
    assert b.task == "text" and b.num_classes == 2 and b.vocab_size == 3 + len(WORDS)
    ids, mask, y = b.test[0]
    assert ids.shape == (12,) and int(ids[0]) == WordTokenizer.BOS and int(mask.sum()) == 7
    assert int(y) == b.test.tensors[2][0] and int(y) in (0, 1)
    tok = WordTokenizer(["b a b, c"])
    assert tok.vocab == {"b": 3, ",": 4, "a": 5, "c": 6} and tok.encode("A zz b") == [5, 1, 3]
    lm = load_dataset("lm", str(write_lm(tmp_path / "lm")), 16)
    x, m, labels = lm.test[0]
    assert lm.task == "lm" and x.shape == (16,) and torch.equal(x, labels) and len(lm.test) == 100 // 16
    assert int(m.sum()) == 16
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "train.tsv").write_text("pos no tab here\n")
    (tmp_path / "bad" / "test.tsv").write_text("pos\tok\n")
    with pytest.raises(ConfigError, match=r"train.tsv:1: expected 'label<TAB>text'"):
        load_dataset("text", str(tmp_path / "bad"), 8)


@pytest.mark.parametrize("name", HF_MODELS)
@pytest.mark.parametrize("task", ["text", "lm"])
def test_transformers_models_build_offline_and_quantize(tmp_path: Path, name: str, task: str) -> None:
    data = load_dataset(task, str(write_text(tmp_path / "t") if task == "text" else write_lm(tmp_path / "l")), 8)
    torch.manual_seed(0)
    model = build_model(name, data).eval()
    ids, mask, _ = data.test.tensors if hasattr(data.test, "tensors") else data.test[:]
    out = model(input_ids=ids[:2], attention_mask=mask[:2]).logits
    assert out.shape[0] == 2 and out.shape[-1] == (data.num_classes if task == "text" else model.config.vocab_size)
    cfg = QuantConfig.from_dict({"default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}})
    q = quantize_model(model, cfg)
    n_linear = sum(kind == "linear" for kind in quantizable_layers(model).values())  # GPT-2's Conv1D too
    assert n_linear >= sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert sum(isinstance(m, QuantLinear) for m in q.modules()) == n_linear
    assert q(input_ids=ids[:2], attention_mask=mask[:2]).logits.shape == out.shape


def test_resnet18_cifar10_one_short_epoch(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_cifar(tmp_path / "data" / "cifar10", "cifar10", per_batch=2)
    assert main(["train", "resnet18", "cifar10", "--max-epochs", "1", "--batch-size", "8", "--threads", "2"]) == 0
    sw = tmp_path / "mase_output" / "resnet18_cifar10" / "software"
    metrics = json.loads((sw / "training_ckpts" / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and (sw / "training_ckpts" / "best.ckpt").is_file()


@pytest.mark.slow
def test_resnet18_cifar100_quantized_test(tmp_path: Path, monkeypatch) -> None:
    """A quantized ResNet-18 (integer convolutions) evaluated next to its float twin."""
    monkeypatch.chdir(tmp_path)
    write_cifar(tmp_path / "data" / "cifar100", "cifar100", per_batch=4)
    (tmp_path / "q.toml").write_text(
        "[quantize]\ndefault = { data_in = [8, 4], weight = [8, 6], bias = [8, 6], data_out = [8, 4] }\n"
    )
    assert main(["test", "resnet18", "cifar100", "--config", "q.toml", "--threads", "2"]) == 0
    r = json.loads((tmp_path / "mase_output/resnet18_cifar100/software/test/results.json").read_text())
    assert r["float"]["samples"] == 4 and r["quantized"]["samples"] == 4


def test_cnn_digits_transform_and_test(tmp_path: Path, monkeypatch) -> None:
    """The small CNN through train, transform (QuantConv2d) and a side-by-side test."""
    monkeypatch.chdir(tmp_path)
    assert main(["train", "cnn", "digits", "--max-epochs", "1"]) == 0
    (tmp_path / "q.toml").write_text(
        "[quantize]\ndefault = { data_in = [8, 4], weight = [8, 6], bias = [8, 6], data_out = [8, 4] }\n"
    )
    ckpt = "mase_output/cnn_digits/software/training_ckpts/best.ckpt"
    assert main(["transform", "cnn", "--load", ckpt, "--load-type", "pl", "--config", "q.toml"]) == 0
    assert (
        main(
            [
                "test",
                "cnn",
                "--load",
                "mase_output/cnn_digits/software/transform/transformed_model",
                "--load-type",
                "pt",
            ]
        )
        == 0
    )
    r = json.loads((tmp_path / "mase_output/cnn_digits/software/test/results.json").read_text())
    assert r["quantized"]["samples"] == 359 and abs(r["quantized"]["acc"] - r["float"]["acc"]) <= 0.05


def test_bert_on_text_one_epoch_and_pretrained_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_text(tmp_path / "data" / "text")
    assert main(["train", "bert", "text", "--max-epochs", "1", "--batch-size", "8"]) == 0
    m = json.loads((tmp_path / "mase_output/bert_text/software/training_ckpts/metrics.json").read_text())
    assert m["epochs"] == 1
    # a local save_pretrained folder, loaded with --pretrained --load-type hf (no hub access)
    data = load_dataset("text", "data/text", 32)
    torch.manual_seed(1)
    src = build_model("bert", data)
    src.save_pretrained(tmp_path / "hf_bert")
    assert (
        main(
            [
                "test",
                "bert",
                "text",
                "--pretrained",
                "--load",
                "hf_bert",
                "--load-type",
                "hf",
                "--project",
                "hf",
            ]
        )
        == 0
    )
    r = json.loads((tmp_path / "mase_output/hf/software/test/results.json").read_text())
    src.eval()
    with torch.no_grad():
        ids, mask, y = data.test.tensors
        expect = (src(input_ids=ids, attention_mask=mask).logits.argmax(-1) == y).float().mean().item()
    assert r["float"]["acc"] == pytest.approx(expect, abs=1e-9) and r["source"].startswith("hf:")
    assert main(["test", "gpt2", "text", "--pretrained", "--load", "hf_bert", "--load-type", "hf"]) == 2
