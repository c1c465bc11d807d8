"""bert-tiny on the accelerator: the Python API behind ``ch flow bert-tiny`` (issue 13).

A BERT classifier from a tiny configuration (hidden 64, 2 heads, feed-forward 128, sequences of 16
tokens, 1 or 2 layers) is trained on local text files (``train.tsv`` / ``test.tsv``,
``label<TAB>text``, the ``text`` dataset of :mod:`sw_frontend.data`) or, when none are given, left
random on random token ids (and says so: its accuracy then means nothing). It is quantized with
:data:`quant.attention.BERT_8BIT`, and its encoder (every layer: attention, residuals, layer
norms, feed-forward with GELU) is mapped, emitted, simulated on Verilator under random stalls and
synthesized (:func:`mapper.flow.run_flow`).

What runs where:

* software: the embedding lookup (token, position and type embeddings, their layer norm, which is
  quantized: its s8.4 output is the accelerator's input), the pooler and the classifier;
* the accelerator: ``EncoderStack`` (:func:`quant.attention.encoder_of`), from the embedded
  sequence ``(16, 64)`` to the last hidden state ``(16, 64)``, one sequence per inference.

The whole flow works without attention masks: training, testing and the accelerator all attend to
every one of the 16 positions (padding tokens included), so the accelerator's outputs and the
quantized model's are the same function and its accuracy is the quantized model's.

``python -m sw_frontend.bert_tiny [--data DIR] [--layers 1|2] [--cycles N] [--sequences N]
[--out DIR] [--no-synth]`` runs it and prints the summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from quant.attention import BERT_8BIT, encoder_of
from quant.config import QuantConfig
from quant.transform import quantize_model

#: The tiny configuration (the accelerator's sequence length is SEQ_LEN).
HIDDEN, HEADS, FFN, SEQ_LEN = 64, 2, 128, 16
#: Vocabulary and classes of the random-token mode.
RANDOM_VOCAB, RANDOM_CLASSES = 64, 2


@dataclass
class TextData:
    """Token ids ``(N, SEQ_LEN)`` and labels of the training and test splits."""

    train_ids: torch.Tensor
    train_y: torch.Tensor
    test_ids: torch.Tensor
    test_y: torch.Tensor
    vocab_size: int
    classes: int
    source: str
    random: bool = False


def load_data(data_dir: str | None, sequences: int, seed: int = 0) -> TextData:
    """The text dataset in ``data_dir`` (``train.tsv`` / ``test.tsv``, padded or cut to SEQ_LEN
    tokens), or random token ids and labels when ``data_dir`` is None."""
    if data_dir is not None:
        from sw_frontend.data import load_dataset  # noqa: PLC0415

        bundle = load_dataset("text", data_dir, SEQ_LEN)
        train = [bundle.train[i] for i in range(len(bundle.train))] + [bundle.val[i] for i in range(len(bundle.val))]
        test = [bundle.test[i] for i in range(len(bundle.test))]
        return TextData(
            torch.stack([t[0] for t in train]),
            torch.stack([t[2] for t in train]),
            torch.stack([t[0] for t in test]),
            torch.stack([t[2] for t in test]),
            bundle.vocab_size,
            bundle.num_classes,
            f"text files in {data_dir}",
        )
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, RANDOM_VOCAB, (2 * sequences, SEQ_LEN), generator=g)
    y = torch.randint(0, RANDOM_CLASSES, (2 * sequences,), generator=g)
    return TextData(
        ids[:sequences],
        y[:sequences],
        ids[sequences:],
        y[sequences:],
        RANDOM_VOCAB,
        RANDOM_CLASSES,
        "random token ids (no text files given): the model is not trained and its accuracy means nothing",
        random=True,
    )


def bert_tiny(vocab_size: int, classes: int, layers: int = 1, seed: int = 0) -> nn.Module:
    """A freshly initialised tiny BERT classifier (hidden 64, 2 heads, feed-forward 128)."""
    import transformers as tr  # noqa: PLC0415

    config = tr.BertConfig(
        vocab_size=max(vocab_size, 8),
        hidden_size=HIDDEN,
        num_hidden_layers=layers,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=SEQ_LEN + 2,
        num_labels=classes,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(seed)
    return tr.BertForSequenceClassification(config)


def logits(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """Class scores without an attention mask (every position takes part)."""
    return model(input_ids=ids).logits


def train(model: nn.Module, ids: torch.Tensor, y: torch.Tensor, epochs: int, seed: int = 0) -> None:
    """AdamW (lr 2e-3), batches of 32, cross entropy; leaves the model in eval mode."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(ids), generator=g)
        for start in range(0, len(ids), 32):
            batch = order[start : start + 32]
            loss = nn.functional.cross_entropy(logits(model, ids[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()


def accuracy(model: nn.Module, ids: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((logits(model, ids).argmax(-1) == y).float().mean())


def embedded(quantized: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """The accelerator's inputs: the quantized model's embedding output ``(N, SEQ_LEN, HIDDEN)``
    (its layer norm is quantized, so the values are exact in the encoder's input format)."""
    with torch.no_grad():
        return quantized.bert.embeddings(input_ids=ids)


def head(quantized: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """The software part after the accelerator: pooler and classifier on the last hidden state."""
    with torch.no_grad():
        return quantized.classifier(quantized.bert.pooler(hidden))


@dataclass
class BertTinyResult:
    """What :func:`run_bert_tiny` measured (``flow``: the mapper's FlowResult)."""

    source: str
    layers: int
    float_accuracy: float
    quantized_accuracy: float
    accelerator_accuracy: float
    test_sequences: int
    flow: Any
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        r, info = self.flow, self.flow.graph.info
        synth = self.flow.synthesis or {}
        est = info.resources
        return {
            "data": self.source,
            "layers": self.layers,
            "test sequences (accuracy)": self.test_sequences,
            "float model accuracy": round(self.float_accuracy, 4),
            "quantized model accuracy": round(self.quantized_accuracy, 4),
            "accelerator accuracy (its own outputs + software head)": round(self.accelerator_accuracy, 4),
            "sequences simulated": len(r.outputs),
            "output integers compared": int(np.asarray(r.outputs).size),
            "mismatches accelerator vs golden": r.mismatches,
            "mismatches golden vs quantized PyTorch": r.golden_model_mismatches,
            "mismatches accelerator vs quantized PyTorch": r.accelerator_model_mismatches,
            "cycles per inference (measured / predicted)": [r.measured_cycles_per_inference, info.predicted_cycles],
            "latency, cycles (measured / predicted)": [r.measured_latency, info.predicted_latency],
            "LUT (Yosys / estimate)": [synth.get("lut"), est.lut],
            "FF (Yosys / estimate)": [synth.get("ff"), est.ff],
            "DSP (Yosys / estimate)": [synth.get("dsp"), est.dsp],
            "BRAM (Yosys / estimate)": [synth.get("bram"), est.bram],
            "Fmax on ECP5, MHz (nextpnr / predicted)": [
                (r.timing or {}).get("fmax_mhz"),
                info.predicted_fmax_mhz,
            ],
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
        }


def run_bert_tiny(
    out_dir: Path,
    data_dir: str | None = None,
    layers: int = 1,
    cycles: int = 1024,
    sequences: int = 200,
    epochs: int = 30,
    synth: bool = True,
    seed: int = 0,
    gap_prob: float = 0.3,
    stall_prob: float = 0.3,
    place_route: bool | None = None,
    clock_mhz: float = 200.0,
    synth_mode: str = "auto",
) -> BertTinyResult:
    """Train (text files) or initialise (random ids), quantize, map the encoder for ``cycles`` per
    inference, simulate ``sequences`` embedded sequences (test split first, then training) under
    random gaps and stalls, optionally synthesize (Yosys in ``synth_mode``, ``ooc`` or ``flat``,
    then ECP5 place and route at ``clock_mhz`` unless ``place_route`` is False); accuracies on the
    test split."""
    if layers not in (1, 2):
        raise ValueError(f"bert-tiny has 1 or 2 layers, got {layers}")
    seconds: dict[str, float] = {}
    start = time.monotonic()
    data = load_data(data_dir, sequences, seed)
    model = bert_tiny(data.vocab_size, data.classes, layers, seed).eval()
    if not data.random:
        train(model, data.train_ids, data.train_y, epochs, seed)
    seconds["train"] = time.monotonic() - start
    quantized = quantize_model(model, QuantConfig.from_dict(BERT_8BIT)).eval()
    float_acc = accuracy(model, data.test_ids, data.test_y)
    quant_acc = accuracy(quantized, data.test_ids, data.test_y)
    ids = torch.cat([data.test_ids, data.train_ids])[:sequences]
    samples = embedded(quantized, ids)
    start = time.monotonic()
    synthesis = synth_mode if synth else None
    result = _flow(
        quantized, samples, out_dir, cycles, synthesis, seed, (gap_prob, stall_prob), (place_route, clock_mhz)
    )
    seconds["map, simulate, synthesize"] = time.monotonic() - start
    # the accelerator's own outputs through the software head, on the test sequences it ran
    fmt = result.graph["data_out"].formats.data_out
    hidden = torch.from_numpy(np.asarray(result.outputs, dtype=np.float64) * 2.0**-fmt.frac).float()
    hidden = hidden.reshape(len(ids), SEQ_LEN, HIDDEN)
    n_test = min(len(data.test_ids), len(ids))
    predicted = head(quantized, hidden[:n_test]).argmax(-1)
    acc_acc = float((predicted == data.test_y[:n_test]).float().mean()) if n_test else float("nan")
    return BertTinyResult(data.source, layers, float_acc, quant_acc, acc_acc, n_test, result, seconds)


def _flow(
    quantized: nn.Module,
    samples: torch.Tensor,
    out_dir: Path,
    cycles: int,
    synth_mode: str | None,
    seed: int,
    stalls: tuple[float, float],
    clock: tuple[bool | None, float],
) -> Any:
    """:func:`mapper.flow.run_flow` of the encoder; ``synth_mode`` None: no synthesis."""
    from mapper.flow import run_flow  # noqa: PLC0415 - torch.export only when needed

    return run_flow(
        encoder_of(quantized).eval(),
        samples,
        Path(out_dir),
        cycles=cycles,
        synth=synth_mode is not None,
        synth_mode=synth_mode or "auto",
        seed=seed + 1,
        gap_prob=stalls[0],
        stall_prob=stalls[1],
        place_route=clock[0],
        clock_mhz=clock[1],
    )


def run_flow_action(settings: Any) -> dict[str, Any]:
    """``ch flow bert-tiny text`` (files in ``--data-dir``, default ``data/text``; random token ids
    when neither is there, with a note) or ``ch flow bert-tiny text-random`` (random token ids):
    the flow above with the front end's options
    (``--layers``, ``--target-cycles`` (default here 1024), ``--samples`` (default here 200),
    ``--max-epochs`` (default here 30), ``--seed``, ``--stall-prob``, ``--skip-synth``,
    ``--synth-mode``, ``--skip-pnr``, ``--clock-mhz``); prints the summary and writes
    ``<project>/hardware/flow_summary.json``. A mismatch is a ConfigError naming the counts."""
    from common.errors import ConfigError  # noqa: PLC0415
    from sw_frontend.hardware import require_bit_exact  # noqa: PLC0415
    from sw_frontend.outputs import require_writable  # noqa: PLC0415
    from sw_frontend.report import print_table, write_json  # noqa: PLC0415

    if settings.dataset not in ("text", "text-random"):
        raise ConfigError(
            f"bert-tiny runs on 'text' (train.tsv / test.tsv in --data-dir, default data/text) or "
            f"'text-random' (random token ids); got '{settings.dataset}'"
        )
    given = settings.given
    out = settings.project_dir / "hardware"
    require_writable(out)
    data_dir = None
    default_dir = Path("data") / "text"
    if settings.dataset == "text" and settings.data_dir is None and not (default_dir / "train.tsv").is_file():
        print(f"ch: note: no text files in {default_dir} and no --data-dir: random token ids, untrained model")
    elif settings.dataset == "text":
        data_dir = settings.data_dir or str(default_dir)
        try:
            load_data(data_dir, 1)
        except ConfigError as err:
            raise ConfigError(f"{err}; or run on random token ids: ch flow bert-tiny text-random") from None
    synth = not settings.skip_synth
    print(
        f"bert-tiny ({settings.layers} layer(s)) on {settings.dataset}: training, quantizing, mapping, "
        "simulating on Verilator" + (" and synthesizing" if synth else ""),
        flush=True,
    )
    result = run_bert_tiny(
        out,
        data_dir,
        layers=settings.layers,
        cycles=settings.target_cycles if "target_cycles" in given else 1024,
        sequences=settings.samples or 200,
        epochs=settings.max_epochs if "max_epochs" in given else 30,
        synth=synth,
        seed=settings.seed,
        gap_prob=settings.stall_prob,
        stall_prob=settings.stall_prob,
        place_route=synth and not settings.skip_pnr,
        clock_mhz=settings.clock_mhz,
        synth_mode=settings.synth_mode,
    )
    summary = result.summary()
    write_json(out / "flow_summary.json", summary)
    print_table(f"bert-tiny: {out}", ["figure", "value"], [[k, v] for k, v in summary.items()])
    r = result.flow
    if r.timing is not None:
        print(r.timing["summary"])
    require_bit_exact(r, out)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sw_frontend.bert_tiny", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="folder with train.tsv / test.tsv (default: random token ids)")
    parser.add_argument("--layers", type=int, default=1, help="encoder layers, 1 or 2 (default 1)")
    parser.add_argument("--cycles", type=int, default=1024, help="target cycles per inference (default 1024)")
    parser.add_argument("--sequences", type=int, default=200, help="sequences to simulate (default 200)")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs on text files (default 30)")
    parser.add_argument("--out", default="mase_output/bert_tiny/hardware", help="design folder")
    parser.add_argument("--no-synth", action="store_true", help="skip Yosys")
    args = parser.parse_args(argv)
    result = run_bert_tiny(
        Path(args.out), args.data, args.layers, args.cycles, args.sequences, args.epochs, not args.no_synth
    )
    summary = result.summary()
    for key, value in summary.items():
        print(f"{key:<58} {value}")
    (Path(args.out) / "bert_tiny.json").write_text(json.dumps(summary, indent=1) + "\n")
    r = result.flow
    ok = r.mismatches == r.golden_model_mismatches == r.accelerator_model_mismatches == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
