"""fixed_layernorm (rtl/attn/): layer norm with exact integer mean and variance, exact isqrt and a
rounded reciprocal, per-channel gamma and beta; its parameters, images and beat model. Golden
function: :func:`golden.attention.layernorm`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from golden.attention import layernorm, layernorm_eps, layernorm_fracs
from golden.fixed import FixedType, IntArray
from mapper.components.arith import MultPipe
from mapper.components.base import (
    BenchTiming,
    Component,
    Fold,
    Mutant,
    Resources,
    divisors,
    elements,
    random_constants,
    register,
)
from mapper.components.softmax import log2_lanes
from mapper.graph import Node
from sim.memimage import pack_lanes, write_memh


def layernorm_parameters(
    n: int, lanes: int, in_t: FixedType, g_t: FixedType, b_t: FixedType, out_t: FixedType, eps: float
) -> dict[str, Any]:
    """fixed_layernorm's parameters for these formats, with the default precision
    (golden.attention.layernorm_fracs) and eps scaled (layernorm_eps)."""
    rs, z = layernorm_fracs(n, in_t, g_t, out_t)
    eps_int = layernorm_eps(eps, n, in_t, z)
    if eps_int >= 1 << 62:
        raise ValueError(f"layer norm eps {eps} scales to {eps_int}, beyond fixed_layernorm's 62-bit EPS")
    return {
        "N": n,
        "LANES": lanes,
        "IN_WIDTH": in_t.width,
        "IN_FRAC": in_t.frac,
        "G_WIDTH": g_t.width,
        "G_FRAC": g_t.frac,
        "B_WIDTH": b_t.width,
        "B_FRAC": b_t.frac,
        "OUT_WIDTH": out_t.width,
        "OUT_FRAC": out_t.frac,
        "OUT_SIGNED": int(out_t.signed),
        "RS": rs,
        "Z": z,
        "EPS_HI": eps_int >> 31,
        "EPS_LO": eps_int & ((1 << 31) - 1),
    }


def layernorm_eps_int(params: dict[str, Any]) -> int:
    """The scaled eps of a fixed_layernorm parameter set."""
    return (int(params["EPS_HI"]) << 31) + int(params["EPS_LO"])


def layernorm_root_bits(params: dict[str, Any]) -> int:
    """Bits of fixed_layernorm's square root (Q_W): half the bits of W = (V << 2Z) + EPS, rounded up."""
    in_w, log_n = int(params["IN_WIDTH"]), (int(params["N"]) - 1).bit_length()
    rad_w = max(2 * in_w + 2 * log_n + 2 + 2 * int(params["Z"]), layernorm_eps_int(params).bit_length()) + 1
    return (rad_w + 1) // 2


def layernorm_stats_latency(params: dict[str, Any]) -> int:
    """fixed_layernorm's STATS: cycles from a row's last input beat to its first output step (the
    squares, the row sums, S1**2 and N * S2, V, W, the square root, the reciprocal, the queue)."""
    in_w, log_n = int(params["IN_WIDTH"]), (int(params["N"]) - 1).bit_length()
    squares = MultPipe.latency(in_w, in_w, True, False)
    products = MultPipe.latency(2 * in_w + log_n, in_w + log_n, True, True)
    lanes = log2_lanes(int(params["LANES"]))
    return 6 + lanes + layernorm_root_bits(params) + int(params["RS"]) + squares + products


def layernorm_out_latency(params: dict[str, Any]) -> int:
    """fixed_layernorm's OUT_LAT: cycles from a beat's read out of the row buffer to its offer at
    data_out (the read and a second register of x, N * x, d * r and gamma * d * r through
    mult_pipe, + beta, the requantizer, the skid buffer)."""
    in_w, n, rs = int(params["IN_WIDTH"]), int(params["N"]), int(params["RS"])
    nw = n.bit_length() + 1  # N as a signed number
    d_w = in_w + (n - 1).bit_length() + nw  # N * x - S1
    return (
        5
        + MultPipe.latency(in_w, nw, True, False)
        + MultPipe.latency(d_w, rs + 2, True, True)
        + MultPipe.latency(d_w + rs + 2, int(params["G_WIDTH"]), True, True)
    )


def layernorm_multipliers(params: dict[str, Any]) -> int:
    """18 x 18 multipliers of fixed_layernorm: per lane the square, N * x, d * r and gamma * d * r,
    then S1**2 and N * S2 (each a mult_pipe of MultPipe.limbs(a) * MultPipe.limbs(b) pieces)."""
    in_w, n, rs = int(params["IN_WIDTH"]), int(params["N"]), int(params["RS"])
    log_n, nw = (n - 1).bit_length(), n.bit_length() + 1
    d_w = in_w + log_n + nw
    lane = [(in_w, in_w), (in_w, nw), (d_w, rs + 2), (d_w + rs + 2, int(params["G_WIDTH"]))]
    per_lane = sum(MultPipe.limbs(a) * MultPipe.limbs(b) for a, b in lane)
    stats = 2 * MultPipe.limbs(2 * in_w + log_n) * MultPipe.limbs(in_w + log_n)
    return int(params["LANES"]) * per_lane + stats


def layernorm_schedule(params: dict[str, Any], in_times: list[int]) -> list[int]:
    """Cycle-exact model of rows through an empty fixed_layernorm with an always-ready output: the
    output stage reads a row from STATS cycles after its last input beat, one beat per cycle and
    rows in order; a beat leaves OUT_LAT cycles after it is read."""
    bpr = int(params["N"]) // int(params["LANES"])
    stats, out_lat = layernorm_stats_latency(params), layernorm_out_latency(params)
    s = -(10**9)
    out = []
    for r in range(len(in_times) // bpr):
        s = max(in_times[(r + 1) * bpr - 1] + stats, s + 1)
        out += [s + k + out_lat for k in range(bpr)]
        s += bpr - 1
    return out


def write_lane_words(values: IntArray, lanes: int, width: int, path: Path) -> str:
    """A per-channel image: word k holds channels k * lanes .. k * lanes + lanes - 1."""
    words = [pack_lanes(values[k * lanes : (k + 1) * lanes], width) for k in range(len(values) // lanes)]
    return str(write_memh(path, words, lanes * width))


_S8_6, _S8_4 = FixedType(8, 6), FixedType(8, 4)


@register
class FixedLayernorm(Component):
    name = "fixed_layernorm"
    output_skid = True
    kind = "attn"
    summary = (
        "integer layer norm over rows of N channels: exact mean and variance, exact isqrt, rounded "
        "reciprocal, per-channel gamma and beta, one rounding"
    )
    depends = ("add_tree", "attn_isqrt", "attn_divide", "fixed_requant_reg", "mult_pipe", "skid_buffer")
    ops = ("layernorm",)
    bench = "sim.tb.test_fixed_layernorm"
    defaults = {
        **layernorm_parameters(4, 1, _S8_4, _S8_6, _S8_6, _S8_4, 0.0),
        "GAMMA_FILE": "",
        "BETA_FILE": "",
    }
    sweeps = (
        # bert-tiny's layer norm: 64 channels of a residual sum s10.4 on 4 lanes, eps 1e-12
        layernorm_parameters(64, 4, FixedType(10, 4), _S8_6, _S8_6, _S8_4, 1e-12),
        # one lane, narrow formats (s5.1 in, s4.1 out saturates), a large eps
        layernorm_parameters(6, 1, FixedType(5, 1), FixedType(4, 2), FixedType(4, 1), FixedType(4, 1), 0.5),
        # a whole row per beat, wide 16-bit formats (a 68-bit square-root radicand), unsigned out
        layernorm_parameters(
            8, 8, FixedType(16, 8), FixedType(12, 10), FixedType(12, 8), FixedType(12, 6, False), 1e-5
        ),
        # 3 lanes (odd trees), integer input s8.0, eps 0: constant rows divide by isqrt(max(0, 1))
        layernorm_parameters(12, 3, FixedType(8, 0), _S8_6, _S8_6, _S8_4, 0.0),
    )
    groups = 120
    timed_sweeps = (0, 1, 2, 3)
    mutants = (
        # the reciprocal truncated instead of rounded half up
        Mutant(
            "layernorm_recip_truncate",
            "num   <= (NUM_W'(1) << (RS + Z + 1)) + NUM_W'(q_root);",
            "num   <= (NUM_W'(1) << (RS + Z + 1));",
            caught_by=(("fixed_layernorm", 0), ("fixed_layernorm", 1)),
        ),
        # the variance without the mean's square (E[x**2] instead of E[x**2] - E[x]**2)
        Mutant(
            "layernorm_no_mean_square",
            "v_row <= n_s2 - s1_sq;",
            "v_row <= n_s2;",
            caught_by=(("fixed_layernorm", 0), ("fixed_layernorm", 3)),
        ),
        # beta one channel late (the beat position's word read a beat behind)
        Mutant(
            "layernorm_beta_stale",
            "o_b <= beta_mem[o_beat[B_AT-1]];",
            "o_b <= beta_mem[o_beat[B_AT-1] == '0 ? BW'(BPR - 1) : o_beat[B_AT-1] - BW'(1)];",
            caught_by=(("fixed_layernorm", 0),),
        ),
    )

    def prepare(self, params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """Random gamma and beta written as per-channel images."""
        n, lanes = int(params["N"]), int(params["LANES"])
        if lanes < 1 or n % lanes:
            raise ValueError(f"LANES={lanes} must be >= 1 and divide N={n}")
        rng = np.random.default_rng(seed)
        gamma = random_constants(rng, (n,), int(params["G_WIDTH"]))
        beta = random_constants(rng, (n,), int(params["B_WIDTH"]))
        out = {
            **params,
            "GAMMA_FILE": write_lane_words(gamma, lanes, int(params["G_WIDTH"]), folder / "gamma.memh"),
            "BETA_FILE": write_lane_words(beta, lanes, int(params["B_WIDTH"]), folder / "beta.memh"),
        }
        return out, {"gamma": gamma.tolist(), "beta": beta.tolist()}

    # ---- the mapper's model: node.weight / bias are gamma / beta; attrs channels, rsqrt_frac,
    # sqrt_extra, eps_int ----

    def folds(self, node: Node) -> list[Fold]:
        return [Fold(d, d) for d in divisors(int(node.attrs["channels"]))]

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        f, a = node.formats, node.attrs
        assert f is not None and f.weight is not None and f.bias is not None
        eps = int(a["eps_int"])
        if eps >= 1 << 62:
            raise ValueError(f"node {node.name}: scaled eps {eps} is beyond fixed_layernorm's 62 bits")
        return {
            "N": int(a["channels"]),
            "LANES": fold.in_lanes,
            "IN_WIDTH": f.data_in.width,
            "IN_FRAC": f.data_in.frac,
            "G_WIDTH": f.weight.width,
            "G_FRAC": f.weight.frac,
            "B_WIDTH": f.bias.width,
            "B_FRAC": f.bias.frac,
            "OUT_WIDTH": f.data_out.width,
            "OUT_FRAC": f.data_out.frac,
            "OUT_SIGNED": bool(f.data_out.signed),
            "RS": int(a["rsqrt_frac"]),
            "Z": int(a["sqrt_extra"]),
            "EPS_HI": eps >> 31,
            "EPS_LO": eps & ((1 << 31) - 1),
        }

    def memories(self, node: Node, fold: Fold, folder: Path) -> dict[str, str]:
        f = node.formats
        assert f is not None and f.weight is not None and f.bias is not None
        assert node.weight is not None and node.bias is not None
        lanes = fold.in_lanes
        return {
            "GAMMA_FILE": write_lane_words(node.weight, lanes, f.weight.width, folder / f"{node.name}_gamma.memh"),
            "BETA_FILE": write_lane_words(node.bias, lanes, f.bias.width, folder / f"{node.name}_beta.memh"),
        }

    def golden(self, node: Node, x: IntArray) -> IntArray:
        f, a = node.formats, node.attrs
        assert f is not None and f.weight is not None and f.bias is not None
        rows = np.asarray(x, dtype=np.int64).reshape(len(x), -1, int(a["channels"]))
        y = layernorm(
            rows,
            f.data_in,
            node.weight,
            f.weight,
            node.bias,
            f.bias,
            f.data_out,
            int(a["eps_int"]),
            int(a["rsqrt_frac"]),
            int(a["sqrt_extra"]),
        )
        return y.reshape(len(x), -1)

    def cycles(self, node: Node, fold: Fold) -> int:
        return elements(node.out_shape) // fold.out_lanes

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return layernorm_schedule(self.parameters(node, fold), times)

    def resources(self, node: Node, fold: Fold) -> Resources:
        """The multipliers of :func:`layernorm_multipliers` (one DSP each), per lane the
        requantizer; the row buffer in LUTRAM; the square root (W_BITS / 2 stages) and the divider
        (RS + 1 stages) in LUTs and FFs. LUT / FF calibrated before the products went through
        mult_pipe (Yosys, bert-tiny's 64 channels, 1 lane, s10.4 in, RS 26, Z 13: 5,097 LUT,
        3,690 FF; estimate 5,180 / 3,796); the operand and doubled product registers add FFs
        that the estimate does not count yet."""
        p = self.parameters(node, fold)
        lanes = fold.in_lanes
        stats = layernorm_stats_latency(p)
        rad = 2 * layernorm_root_bits(p)
        roots = rad // 2 * (rad + rad // 2)
        divider = (p["RS"] + 1) * (p["RS"] + p["Z"] + rad // 2 + 4)
        bpr = p["N"] // lanes
        buffer = (2 * bpr + stats) * lanes * p["IN_WIDTH"] // 32 + 1
        lut = roots + divider + buffer + lanes * (p["OUT_WIDTH"] + 3 * p["IN_WIDTH"]) + 200
        ff = (7 * (roots + divider)) // 10 + lanes * (6 * p["IN_WIDTH"] + 4 * p["RS"] + 2 * p["OUT_WIDTH"]) + 200
        return Resources(lut=lut, ff=ff, dsp=layernorm_multipliers(p))

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One row per N / LANES cycles, one beat per cycle on both sides; the first output beat
        STATS + OUT_LAT cycles after the row's last input beat."""
        return BenchTiming(
            interval=params["N"] // params["LANES"],
            latency=layernorm_stats_latency(params) + layernorm_out_latency(params),
            in_spacing=1,
            out_spacing=1,
        )
