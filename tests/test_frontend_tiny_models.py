"""MLPerf Tiny's ResNet-8 and DS-CNN in the front end, their data sets (the KWS loader on a file the
test writes, the random stand-ins), and ResNet-8 through capture: residual blocks with projections,
batch-norms folded, global pooling, the golden network equal to the quantized model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from common.errors import ConfigError
from mapper.errors import MappingError
from mapper.flow import capture_graph, fold_graph
from mapper.network import golden_network, model_integers, quantize_inputs
from quant.config import QuantConfig
from quant.transform import quantizable_layers, quantize_model
from sw_frontend.data import load_dataset
from sw_frontend.models import DSCNN, ResNet8, build_model

QUANT = {
    "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [12, 8], "data_out": [8, 4]},
    "by_type": {"relu": {"data_out": [8, 4, "unsigned"]}, "avgpool": {"data_out": [10, 6]}},
}


def test_random_stand_ins_say_so_and_have_the_shapes(capsys: pytest.CaptureFixture[str]) -> None:
    cifar = load_dataset("cifar10-random", None, 32)
    kws = load_dataset("kws-random", None, 32)
    assert (cifar.input_shape, cifar.num_classes) == ((3, 32, 32), 10)
    assert (kws.input_shape, kws.num_classes) == ((1, 49, 10), 12)
    err = capsys.readouterr().err
    assert "cifar10-random" in err and "random labels" in err and "kws-random" in err


def test_kws_loader_reads_a_feature_file_and_names_what_is_wrong(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.normal(size=(30, 49, 10)),
        "y_train": rng.integers(0, 12, 30),
        "x_test": rng.normal(size=(10, 49, 10)),
        "y_test": rng.integers(0, 12, 10),
    }
    np.savez(tmp_path / "kws.npz", **arrays)
    data = load_dataset("kws", str(tmp_path), 32)
    assert data.input_shape == (1, 49, 10) and len(data.test) == 10
    assert torch.equal(data.test[3][0][0], torch.tensor(arrays["x_test"][3], dtype=torch.float32))
    np.savez(tmp_path / "kws.npz", **{**arrays, "y_test": arrays["y_test"] + 12})
    with pytest.raises(ConfigError, match=r"kws.npz: y_test labels must lie in 0..11"):
        load_dataset("kws", str(tmp_path), 32)
    with pytest.raises(ConfigError, match=r"no .*kws.npz; .* or use kws-random"):
        load_dataset("kws", str(tmp_path / "none"), 32)


def test_dscnn_has_depthwise_blocks_that_quantize_exactly() -> None:
    model = build_model("dscnn", load_dataset("kws-random", None, 32)).eval()
    assert isinstance(model, DSCNN) and model.blocks[0].depthwise.groups == 64
    assert sum(p.numel() for p in model.parameters()) < 30_000  # MLPerf Tiny's DS-CNN is ~23 k
    layers = quantizable_layers(model)
    assert "blocks.0.bn1" not in layers and layers["blocks.3.pointwise"] == "conv2d"  # folded batch-norms
    q = quantize_model(model, QuantConfig.from_dict(QUANT))
    x = torch.randn(4, 1, 49, 10)
    assert q(x).shape == (4, 12)


def test_resnet8_maps_as_residual_blocks_and_golden_equals_the_model() -> None:
    torch.manual_seed(0)
    data = load_dataset("cifar10-random", None, 32)
    model = build_model("resnet8", data).eval()
    assert isinstance(model, ResNet8)
    q = quantize_model(model, QuantConfig.from_dict(QUANT))
    x = torch.stack([data.test[i][0] for i in range(6)]) * 2
    g = capture_graph(q, x[:2])
    ops = [n.op for n in g]
    assert ops.count("fork") == 3 and ops.count("add") == 3 and ops.count("conv2d") == 9
    assert "batch_norm" not in ops and ops.count("global_avg_pool") == 1
    assert np.array_equal(golden_network(g, quantize_inputs(g, x)), model_integers(q, g, x))
    slow, fast = fold_graph(g, 100_000), fold_graph(g, 1)
    assert slow.info.predicted_cycles > fast.info.predicted_cycles and slow.info.resources.dsp < fast.info.resources.dsp
    assert fast.info.predicted_cycles == 32 * 32  # one output pixel per cycle on the 32x32 stack
    assert fold_graph(g, 8192).info.resources.dsp <= 2000  # the README's fastest plan within 2,000 DSPs
    # A DSP budget relaxes the target to the fastest plan that fits it.
    within = fold_graph(g, 1, max_dsp=2000)
    assert within.info.resources.dsp <= 2000 and 1024 < within.info.predicted_cycles <= 8192
    with pytest.raises(MappingError, match="no folding fits --max-dsp 10: the slowest plan"):
        fold_graph(g, 1, max_dsp=10)
