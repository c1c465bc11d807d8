"""Datasets of the front end, all read from local files (nothing is downloaded).

| name | task | files (under ``--data-dir``, default ``data/NAME``) |
| --- | --- | --- |
| digits | image classification, 10 classes, 1x8x8 | none: scikit-learn's embedded copy |
| cifar10 | image classification, 10 classes, 3x32x32 | ``cifar-10-batches-py/`` (``data_batch_1..5``, |
| | | ``test_batch``, ``batches.meta``) |
| cifar100 | image classification, 100 classes | ``cifar-100-python/`` (``train``, ``test``, ``meta``) |
| text | text classification | ``train.tsv``, ``test.tsv``: one sample a line, ``label<TAB>text`` |
| lm | language modelling (next word) | ``train.txt``, ``test.txt``: plain UTF-8 text |

CIFAR files are the python-pickle batches of the official archive; they hold only NumPy arrays,
lists and bytes, and are read with a restricted unpickler that refuses any other object. The
CIFAR folder may be given directly or as its parent. Images are scaled to [0, 1] (digits: pixel
/ 16) and CIFAR images then normalised per channel. Text uses a word-level tokenizer
(:class:`WordTokenizer`) built from the training file. 10% of the training split (fixed, not
seeded) is held out for validation; ``ch test`` uses the test split.
"""

from __future__ import annotations

import collections
import io
import pickle
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from common.errors import ConfigError

SPLIT_SEED = 1234  # fixed train/validation split, independent of --seed
VAL_FRACTION = 0.1


@dataclass
class DataBundle:
    """Splits and facts a model builder needs.

    ``task`` is ``image`` (batches ``(x, y)``, x float NCHW), ``text`` (``(ids, mask, y)``) or
    ``lm`` (``(ids, mask, labels)`` with labels = next token ids, -100 ignored).
    """

    name: str
    task: str
    num_classes: int
    input_shape: tuple[int, ...]
    train: Dataset
    val: Dataset
    test: Dataset
    vocab_size: int = 0
    pad_id: int = 0


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler for CIFAR batches: only NumPy arrays and dtypes may be rebuilt."""

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"CIFAR file refers to {module}.{name}, which a data file never needs")
        return super().find_class(module, name)


def _load_cifar_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"missing CIFAR file {path}")
    try:
        raw = RestrictedUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ConfigError(f"{path} is not a CIFAR python-pickle batch: {exc}") from None
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}


def _data_dir(name: str, data_dir: str | None, marker: str, expected: str) -> Path:
    root = Path(data_dir) if data_dir else Path("data") / name
    for cand in (root, root / marker):
        if (cand / expected).exists():
            return cand
    stand_in = f", or use {name}-random" if f"{name}-random" in RANDOM_SETS else ""
    raise ConfigError(
        f"dataset '{name}': no {expected} under {root}; put the files of '{marker}' there "
        f"(or pass --data-dir FOLDER{stand_in}); see docs/frontend.md#datasets"
    )


def _split_val(n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_val = max(1, round(n * VAL_FRACTION))
    return order[n_val:], order[:n_val]


def _image_bundle(
    name: str, x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray, classes: int
) -> DataBundle:
    tr, va = _split_val(len(x_tr))
    xt, yt = torch.tensor(x_tr, dtype=torch.float32), torch.tensor(y_tr, dtype=torch.int64)
    return DataBundle(
        name,
        "image",
        classes,
        tuple(x_tr.shape[1:]),
        TensorDataset(xt[tr], yt[tr]),
        TensorDataset(xt[va], yt[va]),
        TensorDataset(torch.tensor(x_te, dtype=torch.float32), torch.tensor(y_te, dtype=torch.int64)),
    )


def load_digits_bundle() -> DataBundle:
    """scikit-learn digits: 1,797 8x8 images, fixed 80/20 train/test split, pixels / 16."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    y = d.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    n_test = len(x) // 5
    te, tr = order[:n_test], order[n_test:]
    return _image_bundle("digits", x[tr], y[tr], x[te], y[te], 10)


CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
CIFAR_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)


def _cifar_images(data: np.ndarray) -> np.ndarray:
    x = np.asarray(data, dtype=np.float32).reshape(-1, 3, 32, 32) / 255.0
    return (x - CIFAR_MEAN[None, :, None, None]) / CIFAR_STD[None, :, None, None]


def load_cifar_bundle(name: str, data_dir: str | None) -> DataBundle:
    """CIFAR-10 / CIFAR-100 from the python-pickle layout (see module docstring)."""
    if name == "cifar10":
        folder = _data_dir(name, data_dir, "cifar-10-batches-py", "test_batch")
        train_files = [folder / f"data_batch_{i}" for i in range(1, 6)]
        test_file, label_key, classes = folder / "test_batch", "labels", 10
    else:
        folder = _data_dir(name, data_dir, "cifar-100-python", "test")
        train_files, test_file, label_key, classes = [folder / "train"], folder / "test", "fine_labels", 100
    parts = [_load_cifar_file(f) for f in train_files]
    test = _load_cifar_file(test_file)
    for p, f in zip(parts + [test], train_files + [test_file]):
        if "data" not in p or label_key not in p:
            raise ConfigError(f"{f}: a CIFAR batch needs keys 'data' and '{label_key}', found {sorted(p)}")
    x_tr = _cifar_images(np.concatenate([p["data"] for p in parts]))
    y_tr = np.concatenate([np.asarray(p[label_key], dtype=np.int64) for p in parts])
    y_te = np.asarray(test[label_key], dtype=np.int64)
    bad = np.concatenate([y_tr, y_te])
    if bad.size and (bad.min() < 0 or bad.max() >= classes):
        raise ConfigError(f"{folder}: labels must lie in 0..{classes - 1}")
    return _image_bundle(name, x_tr, y_tr, _cifar_images(test["data"]), y_te, classes)


class WordTokenizer:
    """Lower-case word-level tokenizer: words and single punctuation marks are tokens.

    Ids: 0 pad, 1 unknown, 2 start of sequence, then the training words by falling frequency
    (ties alphabetical), at most ``max_vocab`` ids in all.
    """

    PAD, UNK, BOS = 0, 1, 2
    _TOKEN = re.compile(r"\w+|[^\w\s]")

    def __init__(self, texts: list[str], max_vocab: int = 2000) -> None:
        counts = collections.Counter(w for t in texts for w in self.words(t))
        ranked = sorted(counts, key=lambda w: (-counts[w], w))[: max_vocab - 3]
        self.vocab = {w: i + 3 for i, w in enumerate(ranked)}

    @classmethod
    def words(cls, text: str) -> list[str]:
        return cls._TOKEN.findall(text.lower())

    @property
    def size(self) -> int:
        return len(self.vocab) + 3

    def encode(self, text: str) -> list[int]:
        return [self.vocab.get(w, self.UNK) for w in self.words(text)]


def _read_tsv(path: Path) -> list[tuple[str, str]]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise ConfigError(f"{path}:{i}: expected 'label<TAB>text', found no tab")
        label, text = line.split("\t", 1)
        rows.append((label.strip(), text))
    if not rows:
        raise ConfigError(f"{path} holds no samples")
    return rows


def _pad(ids: list[int], n: int) -> tuple[list[int], list[int]]:
    ids = [WordTokenizer.BOS] + ids[: n - 1]
    return ids + [WordTokenizer.PAD] * (n - len(ids)), [1] * len(ids) + [0] * (n - len(ids))


def load_text_bundle(data_dir: str | None, seq_len: int) -> DataBundle:
    """Text classification from ``train.tsv`` / ``test.tsv`` (``label<TAB>text``)."""
    folder = _data_dir("text", data_dir, "text", "train.tsv")
    train, test = (
        _read_tsv(folder / "train.tsv"),
        _read_tsv(folder / "test.tsv") if (folder / "test.tsv").is_file() else None,
    )
    if test is None:
        raise ConfigError(f"dataset 'text': missing {folder / 'test.tsv'} (label<TAB>text lines)")
    labels = sorted({lab for lab, _ in train})
    index = {lab: i for i, lab in enumerate(labels)}
    unknown = sorted({lab for lab, _ in test} - set(index))
    if unknown:
        raise ConfigError(f"{folder / 'test.tsv'}: labels {unknown} do not occur in train.tsv")
    tok = WordTokenizer([t for _, t in train])

    def tensors(rows: list[tuple[str, str]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        enc = [_pad(tok.encode(t), seq_len) for _, t in rows]
        return (
            torch.tensor([e[0] for e in enc]),
            torch.tensor([e[1] for e in enc]),
            torch.tensor([index[lab] for lab, _ in rows]),
        )

    ids, mask, y = tensors(train)
    tr, va = _split_val(len(y))
    return DataBundle(
        "text",
        "text",
        len(labels),
        (seq_len,),
        TensorDataset(ids[tr], mask[tr], y[tr]),
        TensorDataset(ids[va], mask[va], y[va]),
        TensorDataset(*tensors(test)),
        vocab_size=tok.size,
    )


def load_lm_bundle(data_dir: str | None, seq_len: int) -> DataBundle:
    """Language modelling from ``train.txt`` / ``test.txt``: blocks of ``seq_len`` tokens."""
    folder = _data_dir("lm", data_dir, "lm", "train.txt")
    if not (folder / "test.txt").is_file():
        raise ConfigError(f"dataset 'lm': missing {folder / 'test.txt'} (plain UTF-8 text)")
    train_text = (folder / "train.txt").read_text(encoding="utf-8")
    tok = WordTokenizer([train_text])

    def blocks(text: str, where: Path) -> TensorDataset:
        ids = tok.encode(text)
        n = len(ids) // seq_len
        if n < 1:
            raise ConfigError(f"{where} holds fewer than max_seq_len={seq_len} tokens")
        x = torch.tensor(ids[: n * seq_len]).reshape(n, seq_len)
        return TensorDataset(x, torch.ones_like(x), x.clone())

    full = blocks(train_text, folder / "train.txt")
    tr, va = _split_val(len(full))
    if len(tr) < 1:
        raise ConfigError(f"{folder / 'train.txt'} needs at least two blocks of {seq_len} tokens")
    x, m, y = full.tensors
    return DataBundle(
        "lm",
        "lm",
        tok.size,
        (seq_len,),
        TensorDataset(x[tr], m[tr], y[tr]),
        TensorDataset(x[va], m[va], y[va]),
        blocks((folder / "test.txt").read_text(encoding="utf-8"), folder / "test.txt"),
        vocab_size=tok.size,
    )


#: Random stand-ins, for flows that check the hardware rather than the accuracy: name -> (per-sample
#: shape, classes, training and test samples).
RANDOM_SETS = {"cifar10-random": ((3, 32, 32), 10, 2000, 1000), "kws-random": ((1, 49, 10), 12, 2000, 1000)}
DATASETS = ("digits", "cifar10", "cifar100", "kws", *RANDOM_SETS, "text", "lm")


def load_random_bundle(name: str) -> DataBundle:
    """A random stand-in of a data set (``RANDOM_SETS``): standard-normal inputs and uniformly drawn
    labels, fixed by a seed. It announces itself on standard error: its accuracy means nothing."""
    shape, classes, n_train, n_test = RANDOM_SETS[name]
    rng = np.random.default_rng(SPLIT_SEED)
    x = rng.standard_normal((n_train + n_test, *shape)).astype(np.float32)
    y = rng.integers(0, classes, n_train + n_test).astype(np.int64)
    print(
        f"ch: note: {name}: {n_train} training and {n_test} test inputs of shape {shape} drawn at random, "
        "with random labels (no data set is read; accuracy is chance)",
        file=sys.stderr,
    )
    return _image_bundle(name, x[:n_train], y[:n_train], x[n_train:], y[n_train:], classes)


KWS_FILE = "kws.npz"
KWS_CLASSES = 12


def load_kws_bundle(data_dir: str | None) -> DataBundle:
    """Keyword spotting features (MLPerf Tiny's KWS shapes): ``kws.npz`` under ``--data-dir``
    (default ``data/kws``) holding ``x_train`` / ``x_test`` ``(N, 49, 10)`` float feature maps
    (e.g. MFCCs) and ``y_train`` / ``y_test`` labels in 0..11."""
    folder = Path(data_dir) if data_dir else Path("data") / "kws"
    path = folder / KWS_FILE
    if not path.is_file():
        raise ConfigError(f"dataset 'kws': no {path}; put {KWS_FILE} there (or --data-dir), or use kws-random")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: np.asarray(f[k]) for k in ("x_train", "y_train", "x_test", "y_test")}
    except (KeyError, ValueError, OSError) as exc:
        raise ConfigError(f"{path}: not a KWS feature file (x_train, y_train, x_test, y_test): {exc}") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (49, 10) or len(y) != len(x):
            raise ConfigError(f"{path}: x_{split} must be (N, 49, 10) with N labels, got {x.shape} and {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= KWS_CLASSES):
            raise ConfigError(f"{path}: y_{split} labels must lie in 0..{KWS_CLASSES - 1}")
    x_tr, x_te = (arrays[k].astype(np.float32)[:, None] for k in ("x_train", "x_test"))
    return _image_bundle(
        "kws", x_tr, arrays["y_train"].astype(np.int64), x_te, arrays["y_test"].astype(np.int64), KWS_CLASSES
    )


def task_of(name: str) -> str | None:
    """``classification`` or ``lm`` for a dataset name (None for an unknown name)."""
    if name == "lm":
        return "lm"
    return "classification" if name in DATASETS else None


def load_dataset(name: str, data_dir: str | None, seq_len: int) -> DataBundle:
    """Load dataset ``name``; unknown names and missing files are ConfigErrors."""
    if name == "digits":
        return load_digits_bundle()
    if name in ("cifar10", "cifar100"):
        return load_cifar_bundle(name, data_dir)
    if name == "kws":
        return load_kws_bundle(data_dir)
    if name in RANDOM_SETS:
        return load_random_bundle(name)
    if name == "text":
        return load_text_bundle(data_dir, seq_len)
    if name == "lm":
        return load_lm_bundle(data_dir, seq_len)
    raise ConfigError(f"unknown dataset '{name}'; allowed: {', '.join(DATASETS)}")
