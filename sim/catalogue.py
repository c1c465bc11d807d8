"""The component library as the verification flow sees it: RTL files, bench, parameter sweeps.

One :class:`Component` per module in ``rtl/``. The sweeps cover the extremes the issue tracker
asks for (one lane and many, narrow and wide) and are what ``make sim`` and the tests run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eda.toolchain import BUILD_ROOT, REPO_ROOT
from sim.runner import RunOptions, build, run

#: Writes a component's memory images for one run: (parameters, seed, folder) ->
#: (parameters with file names filled in, context for the bench).
Prepare = Callable[[dict[str, Any], int, Path], tuple[dict[str, Any], dict[str, Any]]]

RTL_ROOT = REPO_ROOT / "rtl"


@dataclass(frozen=True)
class Component:
    """One library component.

    Attributes:
        name: short name used by ``make sim COMPONENT=...``.
        toplevel: SystemVerilog module name.
        files: RTL files relative to ``rtl/``, dependencies first, the module's own file last.
        tb_module: cocotb bench module (``sim.tb.test_<name>``).
        defaults: every parameter of the module with its default value.
        sweeps: parameter overrides each tested run applies on top of ``defaults``.
        prepare: for components with memories, writes their images (see :data:`Prepare`).
        groups: golden-model groups a test sends (enough for a few hundred beats or more).
    """

    name: str
    toplevel: str
    files: tuple[str, ...]
    tb_module: str
    defaults: dict[str, Any]
    sweeps: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    prepare: Prepare | None = None
    groups: int = 300

    @property
    def sources(self) -> list[Path]:
        return [RTL_ROOT / f for f in self.files]

    def parameters(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults with ``overrides`` applied; an unknown name is an error listing the known ones."""
        overrides = overrides or {}
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise KeyError(
                f"{self.name} has no parameter {', '.join(unknown)}; "
                f"its parameters are {', '.join(sorted(self.defaults))}"
            )
        return {**self.defaults, **overrides}

    def sweep(self) -> list[dict[str, Any]]:
        return [self.parameters(s) for s in (self.sweeps or ({},))]

    def prepared(self, params: dict[str, Any], seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Parameters and bench context for one run, writing memory images when needed."""
        if self.prepare is None:
            return params, {}
        key = hashlib.sha256(json.dumps([params, seed], sort_keys=True).encode()).hexdigest()[:12]
        try:
            return self.prepare(params, seed, BUILD_ROOT / "data" / f"{self.name}-{key}")
        except (ValueError, IndexError) as err:
            # Illegal parameters break the image writer first; the RTL's own check names them.
            build(self.toplevel, self.sources, {k: "unset.memh" if k.endswith("_FILE") else v
                                                for k, v in params.items()})
            raise ValueError(f"{self.name}: no memory images for these parameters: {err}") from err

    def run(self, params: dict[str, Any], options: RunOptions, tag: str = "") -> dict[str, Any]:
        """Simulate the component's bench with ``params`` (see :func:`sim.runner.run`)."""
        full, context = self.prepared(params, options.seed)
        return run(self.toplevel, self.sources, self.tb_module, full, options, tag=tag, context=context)


COMPONENTS: dict[str, Component] = {}


def register(component: Component) -> Component:
    if component.name in COMPONENTS:
        raise ValueError(f"component {component.name} registered twice")
    COMPONENTS[component.name] = component
    return component


def get(name: str) -> Component:
    """The component called ``name``; an unknown name is an error that lists the known ones."""
    try:
        return COMPONENTS[name]
    except KeyError:
        raise KeyError(f"unknown component {name!r}; known: {', '.join(sorted(COMPONENTS))}") from None


register(
    Component(
        name="skid_buffer",
        toplevel="skid_buffer",
        files=("stream/skid_buffer.sv",),
        tb_module="sim.tb.test_skid_buffer",
        defaults={"LANES": 1, "WIDTH": 8},
        sweeps=({"LANES": 1, "WIDTH": 1}, {"LANES": 4, "WIDTH": 8}, {"LANES": 16, "WIDTH": 32}),
    )
)

register(
    Component(
        name="stream_fifo",
        toplevel="stream_fifo",
        files=("stream/skid_buffer.sv", "stream/stream_fifo.sv"),
        tb_module="sim.tb.test_stream_fifo",
        defaults={"LANES": 1, "WIDTH": 8, "DEPTH": 2},
        sweeps=(
            {"LANES": 1, "WIDTH": 1, "DEPTH": 1},
            {"LANES": 16, "WIDTH": 32, "DEPTH": 2},
            {"LANES": 2, "WIDTH": 3, "DEPTH": 16},
        ),
    )
)


def _draw(rng: Any, shape: tuple[int, ...], width: int) -> Any:
    """Random signed ``width``-bit integers (a NumPy array), the range ends drawn often."""
    import numpy as np  # noqa: PLC0415 - only needed for components with memories

    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    values = rng.integers(lo, hi + 1, size=shape)
    return np.where(rng.random(shape) < 0.15, rng.choice([lo, hi], size=shape), values)


def _write_linear_images(params: dict[str, Any], w: Any, b: Any, folder: Path) -> dict[str, Any]:
    """fixed_linear-layout images of weight matrix ``w`` (N, K) and bias ``b`` into ``params``."""
    from sim.memimage import linear_bias_words, linear_weight_words, write_memh  # noqa: PLC0415

    in_par, out_par, w_width = int(params["IN_PAR"]), int(params["OUT_PAR"]), int(params["W_WIDTH"])
    out = dict(params)
    words = linear_weight_words(w, in_par, out_par, w_width)
    out["WEIGHTS_FILE"] = str(write_memh(folder / "weights.memh", words, out_par * in_par * w_width))
    if b is not None:
        b_width = int(params["B_WIDTH"])
        words = linear_bias_words(b, out_par, b_width)
        out["BIAS_FILE"] = str(write_memh(folder / "bias.memh", words, out_par * b_width))
    return out


def _prepare_linear(params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Random weights and bias written as fixed_linear memory images."""
    import numpy as np  # noqa: PLC0415 - only needed for components with memories

    rng = np.random.default_rng(seed)
    w = _draw(rng, (int(params["OUT_FEATURES"]), int(params["IN_FEATURES"])), int(params["W_WIDTH"]))
    b = _draw(rng, (int(params["OUT_FEATURES"]),), int(params["B_WIDTH"])) if int(params["HAS_BIAS"]) else None
    context = {"weights": w.tolist(), "bias": None if b is None else b.tolist()}
    return _write_linear_images(params, w, b, folder), context


def _prepare_conv2d(params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Random (O, C, KH, KW) weights and bias, written in fixed_conv2d's (window-major) layout."""
    import numpy as np  # noqa: PLC0415

    from sim.memimage import conv2d_weight_matrix  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    o, c = int(params["OUT_CHANNELS"]), int(params["IN_CHANNELS"])
    w = _draw(rng, (o, c, int(params["KERNEL_H"]), int(params["KERNEL_W"])), int(params["W_WIDTH"]))
    b = _draw(rng, (o,), int(params["B_WIDTH"])) if int(params["HAS_BIAS"]) else None
    linear_params = {**params, "IN_PAR": c}
    images = _write_linear_images(linear_params, conv2d_weight_matrix(w), b, folder)
    out = {**params, "WEIGHTS_FILE": images["WEIGHTS_FILE"], "BIAS_FILE": images.get("BIAS_FILE", "")}
    context = {"weights": w.tolist(), "bias": None if b is None else b.tolist()}
    return out, context


_LINEAR_FORMAT = {
    "IN_WIDTH": 8, "IN_FRAC": 4, "IN_SIGNED": 1, "W_WIDTH": 8, "W_FRAC": 6, "HAS_BIAS": 1,
    "B_WIDTH": 8, "B_FRAC": 6, "OUT_WIDTH": 8, "OUT_FRAC": 4, "OUT_SIGNED": 1,
}

register(
    Component(
        name="fixed_linear",
        toplevel="fixed_linear",
        files=("arith/fixed_requant_reg.sv", "arith/add_tree.sv", "arith/mult_pipe.sv",
               "stream/skid_buffer.sv", "linear/fixed_linear.sv"),
        tb_module="sim.tb.test_fixed_linear",
        defaults={"IN_FEATURES": 8, "OUT_FEATURES": 4, "IN_PAR": 2, "OUT_PAR": 2, **_LINEAR_FORMAT,
                  "WEIGHTS_FILE": "", "BIAS_FILE": ""},
        sweeps=(
            # one MAC per cycle, narrow 4-bit data, unsigned input (after a ReLU), no bias
            {"IN_FEATURES": 6, "OUT_FEATURES": 3, "IN_PAR": 1, "OUT_PAR": 1, "IN_WIDTH": 4,
             "IN_FRAC": 2, "IN_SIGNED": 0, "W_WIDTH": 4, "W_FRAC": 3, "HAS_BIAS": 0,
             "OUT_WIDTH": 4, "OUT_FRAC": 1},
            # folded on both sides, 8-bit, output finer than the accumulator drops (saturates often)
            {"IN_FEATURES": 16, "OUT_FEATURES": 6, "IN_PAR": 4, "OUT_PAR": 2, "OUT_FRAC": 6},
            # fully parallel (one vector per cycle), wide 16-bit data, unsigned output
            {"IN_FEATURES": 8, "OUT_FEATURES": 4, "IN_PAR": 8, "OUT_PAR": 4, "IN_WIDTH": 16,
             "IN_FRAC": 8, "W_WIDTH": 16, "W_FRAC": 12, "B_WIDTH": 16, "B_FRAC": 10,
             "OUT_WIDTH": 16, "OUT_FRAC": 8, "OUT_SIGNED": 0},
            # output-folded only, wide accumulator shift with a coarse bias
            {"IN_FEATURES": 12, "OUT_FEATURES": 8, "IN_PAR": 12, "OUT_PAR": 1, "B_FRAC": 0,
             "OUT_WIDTH": 12, "OUT_FRAC": 2},
            # a deep weight ROM (512 words x 32 bits): the synchronous, block-RAM read path
            {"IN_FEATURES": 64, "OUT_FEATURES": 32, "IN_PAR": 4, "OUT_PAR": 1},
        ),
        prepare=_prepare_linear,
        groups=100,  # up to 512 cycles per vector in the deepest set
    )
)

register(
    Component(
        name="stream_fork",
        toplevel="stream_fork",
        files=("stream/skid_buffer.sv", "stream/stream_fork.sv"),
        tb_module="sim.tb.test_stream_fork",
        defaults={"LANES": 1, "WIDTH": 8, "N": 2, "IN_REG": 1},
        sweeps=(
            {"LANES": 1, "WIDTH": 1, "N": 1},
            {"LANES": 3, "WIDTH": 8, "N": 2},
            {"LANES": 16, "WIDTH": 32, "N": 4},
            {"LANES": 3, "WIDTH": 8, "N": 3, "IN_REG": 0},  # combinational (inside a block)
        ),
    )
)

register(
    Component(
        name="stream_join",
        toplevel="stream_join",
        files=("stream/skid_buffer.sv", "stream/stream_join.sv"),
        tb_module="sim.tb.test_stream_join",
        defaults={"LANES": 1, "WIDTH": 8, "N": 2, "OUT_REG": 1},
        sweeps=(
            {"LANES": 1, "WIDTH": 2, "N": 1},
            {"LANES": 3, "WIDTH": 8, "N": 2},
            {"LANES": 16, "WIDTH": 32, "N": 4},
            {"LANES": 3, "WIDTH": 8, "N": 3, "OUT_REG": 0},  # combinational (inside a block)
        ),
    )
)

register(
    Component(
        name="stream_resize",
        toplevel="stream_resize",
        files=("stream/skid_buffer.sv", "stream/stream_resize.sv"),
        tb_module="sim.tb.test_stream_resize",
        defaults={"IN_LANES": 2, "OUT_LANES": 1, "WIDTH": 8},
        sweeps=(
            {"IN_LANES": 1, "OUT_LANES": 4, "WIDTH": 2},  # gather from one lane
            {"IN_LANES": 16, "OUT_LANES": 4, "WIDTH": 32},  # split
            {"IN_LANES": 3, "OUT_LANES": 12, "WIDTH": 8},  # gather several lanes at a time
            {"IN_LANES": 4, "OUT_LANES": 4, "WIDTH": 5},  # same width: register slice
        ),
    )
)

register(
    Component(
        name="fixed_cast",
        toplevel="fixed_cast",
        files=("arith/fixed_requant_reg.sv", "stream/pipe_ctrl.sv", "stream/skid_buffer.sv",
               "arith/fixed_cast.sv"),
        tb_module="sim.tb.test_fixed_cast",
        defaults={"LANES": 1, "IN_WIDTH": 16, "IN_FRAC": 8, "IN_SIGNED": 1,
                  "OUT_WIDTH": 8, "OUT_FRAC": 4, "OUT_SIGNED": 1},
        sweeps=(
            # narrow, drops 2 bits, saturates most of the range
            {"LANES": 1, "IN_WIDTH": 4, "IN_FRAC": 2, "IN_SIGNED": 1,
             "OUT_WIDTH": 2, "OUT_FRAC": 0, "OUT_SIGNED": 1},
            # wide, 16 lanes, drops 17 bits, heavy saturation, signed to unsigned (negatives -> 0)
            {"LANES": 16, "IN_WIDTH": 32, "IN_FRAC": 20, "IN_SIGNED": 1,
             "OUT_WIDTH": 8, "OUT_FRAC": 3, "OUT_SIGNED": 0},
            # unsigned to signed, appends 4 fraction bits (negative shift)
            {"LANES": 4, "IN_WIDTH": 8, "IN_FRAC": 2, "IN_SIGNED": 0,
             "OUT_WIDTH": 12, "OUT_FRAC": 6, "OUT_SIGNED": 1},
        ),
    )
)

register(
    Component(
        name="fixed_relu",
        toplevel="fixed_relu",
        files=("arith/fixed_requant_reg.sv", "stream/pipe_ctrl.sv", "stream/skid_buffer.sv",
               "arith/fixed_cast.sv", "arith/fixed_relu.sv"),
        tb_module="sim.tb.test_fixed_relu",
        defaults={"LANES": 1, "IN_WIDTH": 16, "IN_FRAC": 8, "IN_SIGNED": 1,
                  "OUT_WIDTH": 8, "OUT_FRAC": 4, "OUT_SIGNED": 0},
        sweeps=(
            # narrow: a 1-bit unsigned output with a negative fraction (one lsb = 2)
            {"LANES": 1, "IN_WIDTH": 3, "IN_FRAC": 1, "IN_SIGNED": 1,
             "OUT_WIDTH": 1, "OUT_FRAC": -1, "OUT_SIGNED": 0},
            # wide, 16 lanes, drops 12 bits, heavy saturation, unsigned output
            {"LANES": 16, "IN_WIDTH": 32, "IN_FRAC": 16, "IN_SIGNED": 1,
             "OUT_WIDTH": 8, "OUT_FRAC": 4, "OUT_SIGNED": 0},
            # signed output, appends 6 fraction bits (negative shift)
            {"LANES": 4, "IN_WIDTH": 8, "IN_FRAC": 4, "IN_SIGNED": 1,
             "OUT_WIDTH": 16, "OUT_FRAC": 10, "OUT_SIGNED": 1},
        ),
    )
)

register(
    Component(
        name="fixed_add",
        toplevel="fixed_add",
        files=("arith/fixed_requant_reg.sv", "stream/pipe_ctrl.sv", "stream/skid_buffer.sv",
               "stream/stream_join.sv", "arith/fixed_add.sv"),
        tb_module="sim.tb.test_fixed_add",
        defaults={"LANES": 1, "A_WIDTH": 8, "A_FRAC": 4, "B_WIDTH": 8, "B_FRAC": 4,
                  "OUT_WIDTH": 8, "OUT_FRAC": 4},
        sweeps=(
            # narrow: drops 1 bit, saturates often
            {"LANES": 1, "A_WIDTH": 3, "A_FRAC": 1, "B_WIDTH": 2, "B_FRAC": 0,
             "OUT_WIDTH": 2, "OUT_FRAC": 0},
            # wide, 16 lanes, b aligned by 12 bits, drops 14 bits, heavy saturation
            {"LANES": 16, "A_WIDTH": 32, "A_FRAC": 16, "B_WIDTH": 24, "B_FRAC": 4,
             "OUT_WIDTH": 8, "OUT_FRAC": 2},
            # negative input fraction (a aligned by 8 bits), output finer than both (negative
            # shift), never saturates
            {"LANES": 3, "A_WIDTH": 16, "A_FRAC": -2, "B_WIDTH": 4, "B_FRAC": 6,
             "OUT_WIDTH": 27, "OUT_FRAC": 8},
        ),
    )
)

register(
    Component(
        name="conv_window",
        toplevel="conv_window",
        files=("conv/conv_window.sv",),
        tb_module="sim.tb.test_conv_window",
        defaults={"CHANNELS": 1, "DATA_WIDTH": 8, "IMG_H": 8, "IMG_W": 8, "KERNEL_H": 3,
                  "KERNEL_W": 3, "STRIDE": 1, "PADDING": 0},
        groups=30,  # one group is a whole image: 30 images are 120 to 8,100 window beats
        sweeps=(
            # 1x1 kernel on a 1-pixel-wide image: the degenerate corner
            {"IMG_H": 3, "IMG_W": 1, "KERNEL_H": 1, "KERNEL_W": 1, "DATA_WIDTH": 2},
            # 3x3, padding 1, 3 channels (a CIFAR-like first layer on a small image)
            {"CHANNELS": 3, "IMG_H": 5, "IMG_W": 6, "PADDING": 1},
            # 2x2 stride 2 (pooling windows), odd size leaves the last row and column unread
            {"CHANNELS": 4, "DATA_WIDTH": 16, "IMG_H": 5, "IMG_W": 5, "KERNEL_H": 2, "KERNEL_W": 2,
             "STRIDE": 2},
            # non-square kernel, stride 2 with padding, wide lanes
            {"CHANNELS": 2, "DATA_WIDTH": 32, "IMG_H": 6, "IMG_W": 7, "KERNEL_H": 3, "KERNEL_W": 2,
             "STRIDE": 2, "PADDING": 1},
        ),
    )
)

register(
    Component(
        name="fixed_conv2d",
        toplevel="fixed_conv2d",
        files=("arith/fixed_requant_reg.sv", "arith/add_tree.sv", "arith/mult_pipe.sv",
               "stream/skid_buffer.sv", "linear/fixed_linear.sv", "conv/conv_window.sv",
               "conv/fixed_conv2d.sv"),
        tb_module="sim.tb.test_fixed_conv2d",
        defaults={"IN_CHANNELS": 1, "OUT_CHANNELS": 2, "IMG_H": 8, "IMG_W": 8, "KERNEL_H": 3,
                  "KERNEL_W": 3, "STRIDE": 1, "PADDING": 0, "OUT_PAR": 1, **_LINEAR_FORMAT,
                  "WEIGHTS_FILE": "", "BIAS_FILE": ""},
        sweeps=(
            # 3x3, one input channel, padding 1, output channels folded one per beat
            {"IN_CHANNELS": 1, "OUT_CHANNELS": 3, "IMG_H": 5, "IMG_W": 5, "PADDING": 1},
            # 3 channels in, 4 out two per beat, stride 2, unsigned input, no bias
            {"IN_CHANNELS": 3, "OUT_CHANNELS": 4, "IMG_H": 6, "IMG_W": 6, "STRIDE": 2,
             "OUT_PAR": 2, "IN_SIGNED": 0, "HAS_BIAS": 0},
            # 1x1 convolution (a per-pixel linear layer), all outputs in one beat, 4-bit
            {"IN_CHANNELS": 2, "OUT_CHANNELS": 2, "IMG_H": 3, "IMG_W": 4, "KERNEL_H": 1,
             "KERNEL_W": 1, "OUT_PAR": 2, "IN_WIDTH": 4, "IN_FRAC": 2, "W_WIDTH": 4, "W_FRAC": 3,
             "B_WIDTH": 4, "B_FRAC": 2, "OUT_WIDTH": 4, "OUT_FRAC": 1},
        ),
        prepare=_prepare_conv2d,
        groups=20,  # one group is a whole image
    )
)

register(
    Component(
        name="pool_max",
        toplevel="pool_max",
        files=("stream/skid_buffer.sv", "pool/pool_max.sv"),
        tb_module="sim.tb.test_pool_max",
        defaults={"CHANNELS": 1, "DATA_WIDTH": 8, "SIGNED": 1, "WINDOW": 4},
        sweeps=(
            {"WINDOW": 1, "DATA_WIDTH": 2},  # degenerate: every beat is its own window
            {"CHANNELS": 8, "WINDOW": 4},  # 2x2 pooling of 8 channels
            {"CHANNELS": 3, "DATA_WIDTH": 16, "SIGNED": 0, "WINDOW": 9},  # 3x3, unsigned after ReLU
        ),
    )
)


def _prepare_lut(params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A random table (every entry drawn independently), so every address is checked."""
    import numpy as np  # noqa: PLC0415

    from sim.memimage import write_memh  # noqa: PLC0415

    out_w = int(params["OUT_WIDTH"])
    rng = np.random.default_rng(seed)
    lo, hi = (-(1 << (out_w - 1)), (1 << (out_w - 1)) - 1) if out_w >= 2 else (0, 1)
    table = rng.integers(lo, hi + 1, size=1 << int(params["IN_WIDTH"]))
    words = [int(v) & ((1 << out_w) - 1) for v in table]
    path = write_memh(folder / "table.memh", words, out_w)
    return {**params, "TABLE_FILE": str(path)}, {"table": table.tolist()}


register(
    Component(
        name="fixed_lut",
        toplevel="fixed_lut",
        files=("stream/pipe_ctrl.sv", "stream/skid_buffer.sv", "act/fixed_lut.sv"),
        tb_module="sim.tb.test_fixed_lut",
        defaults={"LANES": 1, "IN_WIDTH": 8, "OUT_WIDTH": 8, "TABLE_FILE": ""},
        sweeps=(
            {"LANES": 1, "IN_WIDTH": 1, "OUT_WIDTH": 1},  # the smallest table: two 1-bit entries
            {"LANES": 4, "IN_WIDTH": 8, "OUT_WIDTH": 8},  # an 8-bit activation on 4 lanes
            {"LANES": 2, "IN_WIDTH": 10, "OUT_WIDTH": 16},  # wide: 1,024 entries of 16 bits
        ),
        prepare=_prepare_lut,
    )
)


def _prepare_affine(params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Random per-channel scales and shifts written as fixed_affine memory images (word k holds
    channels k*LANES .. k*LANES + LANES-1, lane 0 in the low bits)."""
    import numpy as np  # noqa: PLC0415

    from sim.memimage import pack_lanes, write_memh  # noqa: PLC0415

    channels, lanes = int(params["CHANNELS"]), int(params["LANES"])
    if lanes < 1 or channels % lanes:
        raise ValueError(f"LANES={lanes} must be >= 1 and divide CHANNELS={channels}")
    s_w, b_w = int(params["S_WIDTH"]), int(params["B_WIDTH"])
    rng = np.random.default_rng(seed)
    scale, shift = _draw(rng, (channels,), s_w), _draw(rng, (channels,), b_w)
    beats = range(channels // lanes)
    scale_words = [pack_lanes(scale[k * lanes : (k + 1) * lanes], s_w) for k in beats]
    shift_words = [pack_lanes(shift[k * lanes : (k + 1) * lanes], b_w) for k in beats]
    out = {
        **params,
        "SCALE_FILE": str(write_memh(folder / "scale.memh", scale_words, lanes * s_w)),
        "SHIFT_FILE": str(write_memh(folder / "shift.memh", shift_words, lanes * b_w)),
    }
    return out, {"scale": scale.tolist(), "shift": shift.tolist()}


register(
    Component(
        name="fixed_affine",
        toplevel="fixed_affine",
        files=("arith/fixed_requant_reg.sv", "arith/add_tree.sv", "arith/mult_pipe.sv",
               "stream/pipe_ctrl.sv", "stream/skid_buffer.sv", "norm/fixed_affine.sv"),
        tb_module="sim.tb.test_fixed_affine",
        defaults={"CHANNELS": 4, "LANES": 1, "IN_WIDTH": 8, "IN_FRAC": 4, "IN_SIGNED": 1,
                  "S_WIDTH": 8, "S_FRAC": 6, "B_WIDTH": 8, "B_FRAC": 6, "OUT_WIDTH": 8,
                  "OUT_FRAC": 4, "OUT_SIGNED": 1, "SCALE_FILE": "", "SHIFT_FILE": ""},
        sweeps=(
            # one lane, 3 channels cycling, narrow: drops 2 bits (ties on a quarter of the
            # sums), shift aligned by 3 bits, saturates most of the range
            {"CHANNELS": 3, "LANES": 1, "IN_WIDTH": 4, "IN_FRAC": 2, "S_WIDTH": 3, "S_FRAC": 1,
             "B_WIDTH": 3, "B_FRAC": 0, "OUT_WIDTH": 3, "OUT_FRAC": 1},
            # 8 lanes, 2 beats per position, unsigned input (after ReLU), drops 6 bits
            {"CHANNELS": 16, "LANES": 8, "IN_SIGNED": 0, "B_FRAC": 4},
            # wide 16-bit formats, 3 beats per position, shift already at the product's
            # fraction (no alignment), unsigned output (negative results -> 0)
            {"CHANNELS": 12, "LANES": 4, "IN_WIDTH": 16, "IN_FRAC": 8, "S_WIDTH": 16,
             "S_FRAC": 12, "B_WIDTH": 16, "B_FRAC": 20, "OUT_WIDTH": 16, "OUT_FRAC": 8,
             "OUT_SIGNED": 0},
        ),
        prepare=_prepare_affine,
    )
)

register(
    Component(
        name="pool_avg",
        toplevel="pool_avg",
        files=("arith/fixed_requant_reg.sv", "arith/add_tree.sv", "arith/mult_pipe.sv",
               "stream/pipe_ctrl.sv", "stream/skid_buffer.sv", "pool/pool_avg.sv"),
        tb_module="sim.tb.test_pool_avg",
        defaults={"CHANNELS": 1, "IN_WIDTH": 8, "IN_FRAC": 4, "IN_SIGNED": 1, "OUT_WIDTH": 8,
                  "OUT_FRAC": 4, "OUT_SIGNED": 1, "WINDOW": 4, "RECIP_FRAC": 16},
        sweeps=(
            # one lane, narrow, window 2 with the shortest reciprocal (1/2 as 1 * 2**-1): exact
            # mean, ties on every odd sum, saturates to a 2-bit output
            {"CHANNELS": 1, "IN_WIDTH": 3, "IN_FRAC": 1, "OUT_WIDTH": 2, "OUT_FRAC": 0,
             "WINDOW": 2, "RECIP_FRAC": 1},
            # 2x2 pooling of 8 channels: exact mean, ties on sums = 2 mod 4
            {"CHANNELS": 8, "WINDOW": 4},
            # 3x3 pooling, wide unsigned 32-bit input (after ReLU), 1/9 approximated with 20
            # bits, output finer than the input and saturating
            {"CHANNELS": 3, "IN_WIDTH": 32, "IN_FRAC": 8, "IN_SIGNED": 0, "OUT_WIDTH": 16,
             "OUT_FRAC": 10, "OUT_SIGNED": 0, "WINDOW": 9, "RECIP_FRAC": 20},
        ),
        groups=200,
    )
)

register(
    Component(
        name="fixed_mul",
        toplevel="fixed_mul",
        files=("arith/fixed_requant_reg.sv", "arith/add_tree.sv", "arith/mult_pipe.sv",
               "stream/pipe_ctrl.sv", "stream/skid_buffer.sv", "stream/stream_join.sv",
               "arith/fixed_mul.sv"),
        tb_module="sim.tb.test_fixed_mul",
        defaults={"LANES": 1, "A_WIDTH": 8, "A_FRAC": 4, "B_WIDTH": 8, "B_FRAC": 4,
                  "OUT_WIDTH": 8, "OUT_FRAC": 4, "OUT_SIGNED": 1},
        sweeps=(
            # narrow: drops 1 bit (ties on every odd product), saturates often
            {"LANES": 1, "A_WIDTH": 3, "A_FRAC": 1, "B_WIDTH": 2, "B_FRAC": 0,
             "OUT_WIDTH": 2, "OUT_FRAC": 0},
            # wide, 16 lanes, 32 x 16 bits, drops 20 bits, heavy saturation, unsigned output
            {"LANES": 16, "A_WIDTH": 32, "A_FRAC": 16, "B_WIDTH": 16, "B_FRAC": 8,
             "OUT_WIDTH": 8, "OUT_FRAC": 4, "OUT_SIGNED": 0},
            # negative input fraction, output finer than the product (zeros appended), never
            # saturates
            {"LANES": 3, "A_WIDTH": 8, "A_FRAC": -2, "B_WIDTH": 6, "B_FRAC": 5,
             "OUT_WIDTH": 16, "OUT_FRAC": 6},
        ),
    )
)
