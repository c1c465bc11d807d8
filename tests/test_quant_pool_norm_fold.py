"""Average pooling, batch-norm and batch-norm folding in the quantized front end, against golden/
(raw integers compared for exact equality) and against the float model they replace."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from golden.fixed import FixedType
from golden.norm import affine
from golden.pool import avg_reduce
from golden.window import sliding_windows
from quant import torch_fixed as tf
from quant.config import LayerFormats, QuantConfig
from quant.fold import fold_batchnorms, foldable_pairs
from quant.norm import QuantBatchNorm
from quant.pooling import RECIP_FRAC, QuantAvgPool2d, QuantGlobalAvgPool
from quant.transform import dequantize_model, quantizable_layers, quantize_model

IN, OUT = FixedType(8, 4), FixedType(8, 4)
GEN = torch.Generator().manual_seed(11)


def _raw(n: int, c: int, h: int, w: int, t: FixedType = IN) -> torch.Tensor:
    return torch.randint(t.min_int, t.max_int + 1, (n, c, h, w), generator=GEN)


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, 2, 0), (3, 1, 1), (3, 2, 0), (2, 1, 0)])
def test_avg_pool_equals_golden_window_means(kernel: int, stride: int, padding: int) -> None:
    q = _raw(3, 4, 7, 7)
    pool = QuantAvgPool2d(nn.AvgPool2d(kernel, stride, padding), LayerFormats(IN, None, None, OUT))
    got = pool.int_forward(q)
    for n in range(3):
        windows = sliding_windows(q[n].permute(1, 2, 0).numpy(), (kernel, kernel), stride, padding)
        oh, ow = windows.shape[:2]
        beats = windows.reshape(oh * ow * kernel * kernel, 4)
        want = avg_reduce(beats, kernel * kernel, IN, OUT, RECIP_FRAC).reshape(oh, ow, 4)
        assert np.array_equal(got[n].permute(1, 2, 0).numpy(), want)


def test_global_avg_pool_equals_golden_and_is_the_exact_mean_on_a_power_of_two_image() -> None:
    q = _raw(4, 3, 4, 4)
    pool = QuantGlobalAvgPool(LayerFormats(IN, None, None, FixedType(12, 8)))
    got = pool.int_forward(q)
    for n in range(4):
        beats = q[n].permute(1, 2, 0).reshape(16, 3).numpy()
        assert np.array_equal(got[n, :, 0, 0].numpy(), avg_reduce(beats, 16, IN, FixedType(12, 8), RECIP_FRAC)[0])
    exact = q.double().mean(dim=(2, 3)) * 16  # 4 more fraction bits hold the mean of 16 exactly
    assert torch.equal(got[:, :, 0, 0].double(), exact)


def test_quant_batchnorm_equals_golden_affine() -> None:
    bn = nn.BatchNorm2d(5).eval()
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(5, generator=GEN))
        bn.running_var.copy_(torch.rand(5, generator=GEN) + 0.3)
        bn.weight.copy_(torch.randn(5, generator=GEN))
        bn.bias.copy_(torch.randn(5, generator=GEN))
    f = LayerFormats(IN, FixedType(8, 5), FixedType(10, 6), FixedType(8, 3))
    m = QuantBatchNorm(bn, f)
    q = _raw(2, 5, 3, 4)
    got = m.int_forward(q).permute(0, 2, 3, 1).reshape(-1, 5).numpy()
    x = q.permute(0, 2, 3, 1).reshape(-1, 5).numpy()
    want = affine(x, m.int_scale().numpy(), m.int_shift().numpy(), f.data_in, f.weight, f.bias, f.data_out)
    assert np.array_equal(got, want)
    y = m(tf.fixed_to_float(q, IN))  # the float path returns the same integers
    assert torch.equal((y.double() * 2**3).round().long(), m.int_forward(q))


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn1, self.relu = nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU()
        self.shared, self.bn2 = nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)  # the conv also feeds the output
        self.fc, self.bn3 = nn.Linear(4 * 6 * 6, 3), nn.BatchNorm1d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.bn1(self.conv(x)))
        s = self.shared(h)
        return self.bn3(self.fc(torch.flatten(self.bn2(s) + s, 1)))


def _stats(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=GEN) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=GEN) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=GEN) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=GEN) * 0.2)
    return model.eval()


def test_batchnorms_after_a_layer_fold_and_the_others_are_quantized() -> None:
    model = _stats(_Net())
    assert foldable_pairs(model) == [("conv", "bn1"), ("fc", "bn3")]  # bn2's conv also feeds the add
    assert quantizable_layers(model) == {
        "conv": "conv2d",
        "relu": "relu",
        "shared": "conv2d",
        "bn2": "batchnorm",
        "fc": "linear",
    }
    folded = _stats(_Net())
    folded.load_state_dict(model.state_dict())
    assert fold_batchnorms(folded) == ["bn1", "bn3"]
    assert isinstance(folded.bn1, nn.Identity) and folded.conv.bias is not None
    x = torch.randn(6, 2, 6, 6, generator=GEN)
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-5)  # float against float: the same function
    q = quantize_model(
        model,
        QuantConfig.from_dict({"default": {"data_in": [8, 4], "weight": [8, 6], "bias": [12, 8], "data_out": [8, 4]}}),
    )
    assert isinstance(q.bn2, QuantBatchNorm) and isinstance(q.bn1, nn.Identity)
    assert isinstance(dequantize_model(q).bn2, nn.BatchNorm2d)
