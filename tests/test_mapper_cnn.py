"""Small CNNs through the mapper: capture of conv2d / max_pool2d / flatten, the flatten
permutation, refused pooling configurations, a bit-exact simulated flow of a tiny CNN, and
`ch flow cnn digits`.

Images travel as raster pixels with the channels of a pixel in lanes, so torch's flatten order
(c, y, x) differs from the stream's (y, x, c): capture permutes the following linear's weight
columns, and the tests below fail without that permutation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from eda.lint import lint_module
from golden.fixed import FixedType
from mapper.components import LIBRARY
from mapper.components.window_model import window_period, window_run
from mapper.errors import MappingError
from mapper.flow import capture_graph as capture
from mapper.flow import emit_design, fold_graph, map_model, run_flow
from mapper.graph import Fold, Node
from mapper.network import golden_network, model_integers, quantize_inputs
from quant.config import QuantConfig
from quant.transform import quantize_model
from sim.memimage import conv2d_weight_matrix, linear_weight_words
from sw_frontend.cli import main

QUANT = {
    "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
    "by_type": {"relu": {"data_out": [8, 4, "unsigned"]}},
}


def _cnn(in_ch: int, mid: int, size: int, classes: int, seed: int = 0, second_conv: bool = False) -> nn.Module:
    """conv 3x3 pad 1 -> relu -> maxpool 2 [-> conv 3x3 pad 1 -> relu] -> flatten -> linear, quantized."""
    torch.manual_seed(seed)
    half = size // 2
    layers: list[nn.Module] = [nn.Conv2d(in_ch, mid, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    if second_conv:
        layers += [nn.Conv2d(mid, mid, 3, padding=1), nn.ReLU()]
    layers += [nn.Flatten(), nn.Linear(mid * half * half, classes)]
    return quantize_model(nn.Sequential(*layers), QuantConfig.from_dict(QUANT))


def _images(n: int, ch: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, ch, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 0.5


def test_cnn_capture_nodes_components_formats_and_flatten_permutation() -> None:
    q = _cnn(in_ch=2, mid=3, size=6, classes=4)
    x = _images(12, 2, 6)
    g = capture(q, x[:2])
    ops = {n.name: (n.op, n.component) for n in g}
    assert ops == {
        "data_in": ("input", None),
        "conv2d": ("conv2d", "fixed_conv2d"),
        "relu": ("relu", "fixed_relu"),
        "max_pool2d_window": ("pool_window", "conv_window"),
        "max_pool2d": ("max_pool2d", "pool_max"),
        "cast_linear": ("cast", "fixed_cast"),  # relu's u8.4 (kept by the pool) -> linear's s8.4
        "linear": ("linear", "fixed_linear"),
        "data_out": ("output", None),
    }
    conv = g["conv2d"]
    assert conv.in_shape == (2, 6, 6) and conv.out_shape == (3, 6, 6)
    assert conv.attrs == {"image": (2, 6, 6), "kernel": (3, 3), "stride": 1, "padding": 1}
    assert np.array_equal(conv.weight, q[0].int_weight().numpy())
    assert conv.formats == q[0].formats
    window, pool = g["max_pool2d_window"], g["max_pool2d"]
    assert window.out_shape == (3 * 3 * 4, 3) and pool.out_shape == (3, 3, 3)
    u84 = FixedType(8, 4, signed=False)
    assert window.formats.data_in == pool.formats.data_out == u84  # a max takes its producer's format
    assert g["data_in"].out_shape == (2, 6, 6)
    assert "flatten" in pool.folded

    # the linear's columns are in stream order (y, x, c), torch's are (c, y, x)
    w_torch = q[4].int_weight().numpy()
    lin = g["linear"]
    assert lin.in_shape == (27,)
    assert np.array_equal(lin.weight, w_torch.reshape(4, 3, 3, 3).transpose(0, 2, 3, 1).reshape(4, 27))
    assert not np.array_equal(lin.weight, w_torch)

    # input beats: raster pixels, channels innermost
    ins = quantize_inputs(g, x)
    assert ins.shape == (12, 72)
    first = np.floor(x[:, :, 1, 4].double().numpy() * 16 + 0.5).astype(np.int64)  # pixel (1, 4)
    assert np.array_equal(ins.reshape(12, 6, 6, 2)[:, 1, 4, :], first)

    # golden network == quantized PyTorch model, integer by integer; not so without the permutation
    expected = model_integers(q, g, x)
    assert np.array_equal(golden_network(g, ins), expected)
    g["linear"].weight = w_torch
    assert not np.array_equal(golden_network(g, ins), expected)


def golden_vector(node: Node, x: np.ndarray) -> np.ndarray:
    """A node's golden function (its component's) on a batch of flattened samples."""
    return LIBRARY[node.component].golden(node, x)


def test_conv_and_pool_golden_functions_work_in_stream_order() -> None:
    q = _cnn(in_ch=2, mid=3, size=6, classes=4, seed=3)
    g = capture(q, _images(2, 2, 6))
    x = np.random.default_rng(0).integers(-128, 128, size=(5, 6, 6, 2))  # (B, H, W, C) stream order
    conv = g["conv2d"]
    y = golden_vector(conv, x.reshape(5, -1)).reshape(5, 6, 6, 3)
    ref = q[0].int_forward(torch.as_tensor(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(y, ref)
    relu_out = np.abs(x[..., :1].repeat(3, axis=-1))  # any non-negative image of 3 channels
    windows = golden_vector(g["max_pool2d_window"], relu_out.reshape(5, -1))
    pooled = golden_vector(g["max_pool2d"], windows).reshape(5, 3, 3, 3)
    ref_pool = nn.functional.max_pool2d(torch.as_tensor(relu_out).permute(0, 3, 1, 2).double(), 2)
    assert np.array_equal(pooled, ref_pool.permute(0, 2, 3, 1).numpy().astype(np.int64))


def _window_node(h: int, w: int, k: int, stride: int, padding: int) -> Node:
    return Node("w", "pool_window", attrs={"image": (1, h, w), "kernel": (k, k), "stride": stride, "padding": padding})


def test_window_model_streams_images_back_to_back() -> None:
    """conv_window takes the next image's pixels while it still emits the current image's last
    windows: with pixels always offered, consecutive images' window beats follow each other
    without a gap when the beats are the bottleneck, and the pixels stream at one per cycle when
    they are."""
    conv = _window_node(6, 6, 3, 1, 1)  # 36 positions x 9 beats
    run = window_run(conv, [0] * (3 * 36), replay=0)
    assert window_period(conv, 0) == 324
    assert run.beats[324] == run.beats[323] + 1 and run.beats[648] == run.beats[647] + 1
    assert run.taken[36] < run.emits[323]  # image 1's first pixel is in before image 0's last beat
    assert window_period(conv, 9) == 36 * 18  # fixed_conv2d with two output groups: replayed
    pool = _window_node(5, 5, 2, 2, 0)  # 16 beats, 25 pixels
    run = window_run(pool, [0] * (3 * 25), replay=0)
    assert window_period(pool, 0) == 25 and run.taken == list(range(75))


@pytest.mark.parametrize(
    ("pool", "bad"),
    [
        (nn.MaxPool2d(2, padding=1), r"padding=\[1, 1\]"),
        (nn.MaxPool2d(2, ceil_mode=True), "ceil_mode=True"),
        (nn.MaxPool2d(2, dilation=2), r"dilation=\[2, 2\]"),
    ],
)
def test_unsupported_pooling_is_refused_naming_the_node(pool: nn.Module, bad: str) -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), pool, nn.Flatten(), nn.LazyLinear(3))
    model(torch.zeros(1, 1, 6, 6))  # materialize the lazy linear
    q = quantize_model(model, QuantConfig.from_dict(QUANT))
    match = rf"^node 'max_pool2d': max_pool2d with {bad} is not supported"
    with pytest.raises(MappingError, match=match) as err:
        capture(q, torch.zeros(2, 1, 6, 6))
    assert "\n" not in str(err.value)


def test_image_reshape_other_than_flatten_before_a_linear_is_refused() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.relu = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.relu(torch.flatten(self.conv(x), 1))

    q = quantize_model(Net(), QuantConfig.from_dict(QUANT))
    with pytest.raises(MappingError, match=r"node 'relu': relu of a flattened image is not supported"):
        capture(q, torch.zeros(2, 1, 4, 4))


def test_cnn_folding_cycles_resources_lanes_and_lint_clean_top(tmp_path: Path) -> None:
    q = _cnn(in_ch=1, mid=8, size=8, classes=10, second_conv=True)
    g = capture(q, _images(2, 1, 8))
    slow = fold_graph(capture(q, _images(2, 1, 8)), 64 * 9)["conv2d"]
    assert slow.fold == Fold(1, 8, 1) and slow.cycles == 64 * 9  # one window pixel per cycle keeps up
    h = fold_graph(g, 64)  # one cycle per output pixel: the whole window and all channels at once
    conv = h["conv2d"]
    assert conv.fold == Fold(1, 8, 9)
    assert conv.cycles == 64 and h.info.predicted_cycles == conv.cycles
    second = h["conv2d_1"]  # 4x4 image, 8 -> 8 channels: may fold as long as it keeps up
    assert second.fold.in_lanes == 8 and second.cycles <= h.info.predicted_cycles
    # it is given no more parallelism than the pace needs
    assert second.fold.out_lanes * second.fold.window < 8 * 9
    for node in h:
        if node.op in ("pool_window", "max_pool2d"):
            assert node.fold == type(node.fold)(8, 8)  # one pixel, all its channels, per beat
        for u in h.producers(node.name):
            assert h[u].fold.out_lanes == node.fold.in_lanes
    res = LIBRARY["fixed_conv2d"].resources(conv, conv.fold)
    assert res.dsp == 8 * 9 and res.lut > 0 and res.ff > 0  # 9 pixels x 8 output channels of 8 x 8 bits
    design = emit_design(h, tmp_path / "design", top="cnn_top")
    lint = lint_module(design.top_file, design.sources)
    assert lint.clean, lint.messages
    text = design.top_file.read_text()
    assert text.count("fixed_conv2d #(") == 2 and text.count("conv_window #(") == 1  # the pool's
    assert text.count("pool_max #(") == 1
    fold = second.fold  # its weight image: (O, KH, KW, C) matrix in fixed_linear's layout
    matrix = conv2d_weight_matrix(q[3].int_weight().numpy(), fold.window)
    words = linear_weight_words(matrix, 8 * fold.window, fold.out_lanes, 8)
    image = Path(design.memories["conv2d_1"]["WEIGHTS_FILE"]).read_text().split()
    assert [int(w, 16) for w in image] == words


@pytest.mark.sim
def test_tiny_cnn_is_bit_exact_under_stalls_and_on_time(tmp_path: Path) -> None:
    """Two input channels (the input's lane order matters), two convolutions (the second folded,
    fed through lane adapters), pooling, flatten permutation; Yosys totals in the report."""
    q = _cnn(in_ch=2, mid=4, size=6, classes=3, seed=5, second_conv=True)
    x = _images(10, 2, 6, seed=5)
    result = run_flow(q, x, tmp_path / "cnn", cycles=64, synth=True, place_route=False, top="cnn_top", seed=7)
    assert not result.errors, result.errors[0][:2000]
    assert result.golden_model_mismatches == 0
    assert result.mismatches == 0
    assert result.accelerator_model_mismatches == 0
    assert result.compared == 2 * 10 * 3
    predicted = result.predicted_cycles_per_inference
    assert result.measured_cycles_per_inference == predicted
    assert result.measured_latency == result.predicted_latency
    kinds = {n.component for n in result.graph}
    assert {"fixed_conv2d", "conv_window", "pool_max", "fixed_linear"} <= kinds
    report = json.loads((tmp_path / "cnn" / "report.json").read_text())
    assert report["synthesis"]["dsp"] == result.graph.info.resources.dsp
    assert report["synthesis"]["lut"] > 0 and report["simulation"]["mismatches"] == 0


@pytest.mark.sim
@pytest.mark.parametrize("target", [72, pytest.param(180, marks=pytest.mark.slow)])
def test_fast_target_folds_windows_and_is_bit_exact_and_on_time(target: int, tmp_path: Path) -> None:
    """A target below one window pixel per cycle (6x6 image: 36 output pixels, 9 window pixels
    each): the folding hands a convolution several window pixels per step, a count that leaves
    the window's last step padded with zero pixels (2 or 5 of 9); under random stalls the
    accelerator stays bit-exact and its cycles per inference and latency are the predicted
    ones."""
    q = _cnn(in_ch=2, mid=4, size=6, classes=3, seed=5, second_conv=True)
    x = _images(10, 2, 6, seed=5)
    result = run_flow(q, x, tmp_path / "cnn", cycles=target, synth=False, seed=7)
    assert not result.errors, result.errors[0][:2000]
    convs = [n for n in result.graph if n.op == "conv2d"]
    windows = [n.fold.window for n in convs]
    assert any(9 % w for w in windows), windows  # (the cheapest fold for a small image may be 1)
    assert [n.params["WINDOW_PAR"] for n in convs] == windows
    assert result.golden_model_mismatches == result.mismatches == result.accelerator_model_mismatches == 0
    assert result.predicted_cycles_per_inference == target
    assert result.measured_cycles_per_inference == target
    assert result.measured_latency == result.predicted_latency


@pytest.mark.sim
def test_ch_flow_cnn_digits_is_bit_exact_and_on_time(tmp_path: Path) -> None:
    """`ch flow cnn digits` (SmallCNN: two convolutions, two pools, flatten, linear), few epochs
    and samples. The quantization table is given because ch flow's default one names the MLP's
    layers."""
    config = tmp_path / "cnn.toml"
    config.write_text(
        "[quantize]\n"
        "default = { data_in = [8, 4], weight = [8, 6], bias = [8, 6], data_out = [8, 4] }\n"
        '[quantize.by_type.relu]\ndata_out = [8, 4, "unsigned"]\n'
        "[quantize.by_name.fc]\ndata_out = [8, 3]\n"
    )
    args = [
        "flow",
        "cnn",
        "digits",
        "--config",
        str(config),
        "--output-root",
        str(tmp_path / "out"),
        "--max-epochs",
        "2",
        "--samples",
        "20",
        "--skip-synth",
    ]
    assert main(args) == 0
    summary = json.loads((tmp_path / "out" / "cnn_digits" / "hardware" / "flow_summary.json").read_text())
    assert summary["samples"] == 20 and summary["compared_integers"] == 2 * 20 * 10
    assert summary["mismatches_accelerator_vs_golden"] == 0
    assert summary["mismatches_golden_vs_quantized_model"] == 0
    assert summary["mismatches_accelerator_vs_quantized_model"] == 0
    assert summary["accuracy"]["accelerator"] == summary["accuracy"]["quantized"]
    cycles = summary["cycles_per_inference"]
    measured, predicted = cycles["measured"], cycles["predicted"]
    assert measured == predicted


#: (input channels, image size, layers before flatten + linear, target cycles per inference)
CASES: list[tuple[int, int, list[nn.Module], int]] = [
    (3, 7, [nn.Conv2d(3, 5, 3), nn.ReLU(), nn.MaxPool2d(2)], 64),  # no padding, odd size, floor pool
    (1, 8, [nn.Conv2d(1, 4, 2, stride=2), nn.ReLU(), nn.MaxPool2d(3, stride=1)], 64),  # strided conv
    (2, 6, [nn.Conv2d(2, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 4, 1), nn.ReLU()], 400),
    # no bias, overlapping pool on a signed stream, 2x2 conv, target 1 (as fast as it goes)
    (
        4,
        5,
        [
            nn.Conv2d(4, 2, 3, padding=1, bias=False),
            nn.MaxPool2d(2, stride=1),
            nn.Conv2d(2, 8, 2),
            nn.ReLU(),
            nn.MaxPool2d(2),
        ],
        1,
    ),
]


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("case", range(len(CASES)))
def test_cnn_shapes_strides_and_formats_map_and_match(case: int, tmp_path: Path) -> None:
    channels, size, layers, target = CASES[case]
    torch.manual_seed(case)
    body = nn.Sequential(*layers)
    with torch.no_grad():
        features = body(torch.zeros(1, channels, size, size)).numel()
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(features, 3))
    fmt = {"data_in": [8, 4], "weight": [6, 4], "bias": [10, 6], "data_out": [9, 4]}
    table = {"default": fmt, "by_type": {"relu": {"data_out": [8, 4, "unsigned"]}}}
    q = quantize_model(model, QuantConfig.from_dict(table))
    x = torch.rand(8, channels, size, size, generator=torch.Generator().manual_seed(case)) * 3 - 1
    result = run_flow(q, x, tmp_path / "design", cycles=target, synth=False, seed=case)
    assert not result.errors, result.errors[0][:2000]
    assert result.golden_model_mismatches == result.mismatches == result.accelerator_model_mismatches == 0
    predicted = result.predicted_cycles_per_inference
    assert result.measured_cycles_per_inference == predicted
    assert result.measured_latency == result.predicted_latency


@pytest.mark.sim
def test_batchnorm_average_pools_and_global_pool_map_bit_exact_and_on_time(tmp_path: Path) -> None:
    """conv -> batch-norm (folded at quantization) -> ReLU -> 2x2 average pool (conv_window +
    pool_avg) -> batch-norm after the pool (unfoldable: fixed_affine) -> ReLU -> global average
    pool (pool_avg over the image) -> linear: bit-exact under stalls, cycles and latency exact."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    for bn in (model[1], model[4]):
        with torch.no_grad():
            bn.running_mean.copy_(torch.randn(4) * 0.3)
            bn.running_var.copy_(torch.rand(4) + 0.5)
            bn.weight.copy_(torch.rand(4) + 0.5)
            bn.bias.copy_(torch.randn(4) * 0.2)
    table = {
        "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [10, 8], "data_out": [8, 4]},
        "by_type": {"relu": {"data_out": [8, 4, "unsigned"]}, "avgpool": {"data_out": [10, 6]}},
    }
    q = quantize_model(model.eval(), QuantConfig.from_dict(table))
    x = (
        torch.randn(12, 2, 8, 8, generator=torch.Generator().manual_seed(4))
        * torch.linspace(0.2, 3, 12)[:, None, None, None]
    )
    result = run_flow(q, x, tmp_path / "pools", cycles=64, synth=False, seed=2)
    assert not result.errors, result.errors[0][:2000]
    assert result.golden_model_mismatches == result.mismatches == result.accelerator_model_mismatches == 0
    assert result.measured_cycles_per_inference == result.predicted_cycles_per_inference
    assert result.measured_latency == result.predicted_latency
    comps = {n.op: n.component for n in result.graph}
    assert comps["avg_pool2d"] == comps["global_avg_pool"] == "pool_avg" and comps["affine"] == "fixed_affine"
    assert result.graph["adaptive_avg_pool2d"].params["WINDOW"] == 16  # the 4x4 pooled image
    assert len(np.unique(result.golden, axis=0)) >= 4  # the samples really differ at the output


def _depthwise_separable(seed: int = 0) -> nn.Module:
    """conv 3x3 -> ReLU -> depthwise 3x3 (groups = 4) -> batch-norm -> ReLU -> pointwise 1x1 ->
    ReLU -> global average pool -> linear: a DS-CNN / MobileNet block, quantized."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 6, 1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 3),
    ).eval()
    with torch.no_grad():
        model[3].running_mean.copy_(torch.randn(4) * 0.3)
        model[3].running_var.copy_(torch.rand(4) + 0.5)
    return quantize_model(model, QuantConfig.from_dict(QUANT))


def test_depthwise_conv_maps_to_fixed_dwconv2d_and_golden_equals_the_model() -> None:
    q = _depthwise_separable()
    x = _images(6, 1, 6)
    g = capture(q, x[:2])
    convs = [n for n in g if n.op in ("conv2d", "dwconv2d")]
    assert [n.component for n in convs] == ["fixed_conv2d", "fixed_dwconv2d", "fixed_conv2d"]
    assert convs[1].weight.shape == (4, 1, 3, 3)  # its own kernel per channel, no zeros added
    assert np.array_equal(golden_network(g, quantize_inputs(g, x)), model_integers(q, g, x))


def test_a_grouped_conv_that_is_not_depthwise_is_refused_in_one_line() -> None:
    model = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, groups=2), nn.ReLU()).eval()
    q = quantize_model(model, QuantConfig.from_dict(QUANT))
    with pytest.raises(MappingError, match=r"^node .*: a convolution of 4 -> 4 channels in 2 groups is not supported;"):
        capture(q, _images(2, 4, 6))


@pytest.mark.sim
def test_depthwise_separable_block_is_bit_exact_under_stalls_and_on_time(tmp_path: Path) -> None:
    result = run_flow(_depthwise_separable(), _images(10, 1, 6), tmp_path / "ds", cycles=64, synth=False, seed=3)
    assert not result.errors, result.errors[0][:2000]
    assert result.golden_model_mismatches == result.mismatches == result.accelerator_model_mismatches == 0
    assert result.measured_cycles_per_inference == result.predicted_cycles_per_inference
    assert result.measured_latency == result.predicted_latency
    dw = next(n for n in result.graph if n.component == "fixed_dwconv2d")
    assert dw.fold is not None and dw.resources is not None
    # 36 output pixels in 64 cycles: the whole window per step, one multiplier per channel and
    # window pixel (a dense datapath would need 4 times as many)
    assert dw.fold.window == 9 and dw.resources.dsp == 4 * 9


@pytest.mark.parametrize(
    ("pool", "size", "multipliers"), [(nn.AdaptiveAvgPool2d(1), 8, False), (nn.AvgPool2d(3), 6, True)]
)
def test_average_pool_by_a_power_of_two_is_a_shift_not_a_dsp(pool: nn.Module, size: int, multipliers: bool) -> None:
    """The reciprocal of a 64-pixel window is a power of two: a shift, no DSP48E1 (ResNet-8's
    global average pool synthesized to 0 DSP); a 3x3 window's constant takes one per lane."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), pool, nn.Flatten(), nn.LazyLinear(3))
    model(torch.zeros(1, 2, size, size))
    table = {"default": {"data_in": [8, 4], "weight": [8, 6], "bias": [10, 8], "data_out": [8, 4]}}
    q = quantize_model(model.eval(), QuantConfig.from_dict(table))
    g = map_model(q, _images(2, 2, size), cycles=size * size)
    (node,) = [n for n in g if n.component == "pool_avg"]
    assert node.resources.dsp == (node.fold.in_lanes if multipliers else 0)
