"""The quantization pass beyond the golden arithmetic: layers kept float, GPT-2's transformers
Conv1D layers, weights shared between modules, and safe reads of torch files."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import pytest
import torch

from common.errors import ConfigError
from quant.config import QuantConfig
from quant.modules import QuantConv1D, QuantLinear, QuantReLU
from quant.torch_files import PickledObjectsError, load_pickle, load_tensors
from quant.transform import config_of, dequantize_model, quantize_model
from sw_frontend.models import MLP

Q8 = {"default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}}


def test_gpt2_quantizes_every_projection_and_keeps_the_tie(tmp_path: Path) -> None:
    from sw_frontend.data import load_dataset
    from sw_frontend.models import build_model

    lm = tmp_path / "data" / "lm"
    lm.mkdir(parents=True)
    (lm / "train.txt").write_text("the cat sat on the mat . " * 40)
    (lm / "test.txt").write_text("the mat sat on the cat . " * 10)
    data = load_dataset("lm", str(lm), 16)
    model = build_model("gpt2", data).eval()
    assert model.lm_head.weight is model.transformer.wte.weight
    q = quantize_model(model, QuantConfig.from_dict(Q8))
    kinds = {type(m) for m in q.modules()}
    assert QuantConv1D in kinds and QuantLinear in kinds
    assert isinstance(q.transformer.h[0].attn.c_attn, QuantConv1D)
    assert q.lm_head.weight is q.transformer.wte.weight, "quantizing untied lm_head from the embedding"
    f = dequantize_model(q)
    assert f.lm_head.weight is f.transformer.wte.weight
    ids = data.test.tensors[0][:2]
    with torch.no_grad():
        assert torch.equal(f(input_ids=ids).logits, model(input_ids=ids).logits)  # the float twin is the model


def test_layers_kept_float() -> None:
    config = QuantConfig.from_dict({**Q8, "by_type": {"relu": {"float": True}}, "by_name": {"fc2": {"float": True}}})
    q = quantize_model(MLP(64, 32, 10), config)
    assert isinstance(q.fc1, QuantLinear) and isinstance(q.relu, torch.nn.ReLU) and isinstance(q.fc2, torch.nn.Linear)
    assert QuantConfig.from_dict(config.to_dict()) == config
    assert not any(isinstance(m, QuantReLU) for m in q.modules())
    with pytest.raises(ConfigError, match=r"quantize.by_type.relu.float must be true or false"):
        QuantConfig.from_dict({"by_type": {"relu": {"float": "yes"}}})


def test_config_of_a_quantized_model_rebuilds_it() -> None:
    config = QuantConfig.from_dict({**Q8, "by_name": {"fc2": {"float": True}}})
    q = quantize_model(MLP(64, 32, 10), config)
    again = quantize_model(dequantize_model(q), config_of(q))
    assert [type(m) for m in again.modules()] == [type(m) for m in q.modules()]
    assert config_of(MLP(64, 32, 10)) is None


def test_torch_files_say_what_is_wrong(tmp_path: Path) -> None:
    model = MLP(64, 32, 10)
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    assert set(load_tensors(tmp_path / "sd.pt", "sd.pt")) == set(model.state_dict())
    data = (tmp_path / "sd.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    torch.save(model, tmp_path / "whole.pt")
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps(model))
    with pytest.raises(ConfigError, match=r"cut.pt is truncated or corrupt \(a torch archive without its end\)"):
        load_tensors(tmp_path / "cut.pt", "cut.pt")
    with pytest.raises(ConfigError, match="empty.pt is empty"):
        load_tensors(tmp_path / "empty.pt", "empty.pt")
    with pytest.raises(ConfigError, match=r"junk.pt is not a torch file \(torch.save\) or is corrupt"):
        load_tensors(tmp_path / "junk.pt", "junk.pt")
    with pytest.raises(PickledObjectsError, match="holds a pickled sw_frontend.models.MLP, not only tensors"):
        load_tensors(tmp_path / "whole.pt", "whole.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing besides the one-line error reaches the user
        with pytest.raises(PickledObjectsError, match="is a plain pickle"):
            load_tensors(tmp_path / "plain.pkl", "plain.pkl")
    assert isinstance(load_pickle(tmp_path / "whole.pt", "whole.pt"), MLP)
    assert isinstance(load_pickle(tmp_path / "plain.pkl", "plain.pkl"), MLP)
    (tmp_path / "cut.pkl").write_bytes(pickle.dumps(model)[:500])
    with pytest.raises(ConfigError, match="cut.pkl is truncated or not a pickle"):
        load_pickle(tmp_path / "cut.pkl", "cut.pkl")
