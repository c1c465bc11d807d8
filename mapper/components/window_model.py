"""The window generator's model (conv_window, and the windows of fixed_conv2d, pool_max and
pool_avg): image geometry, the line store's depth, the cycle-exact handshake model of a stream of
images (:func:`window_run`), the steady-state period and the resource estimate. Cycles are clock
cycles of the accelerator, counted from the first input beat."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mapper.components.base import (
    Fold,
)
from mapper.components.resource_model import Terms, rom_bram_tiles, store_in_bram
from mapper.graph import Node


def image(node: Node) -> tuple[int, int, int]:
    """(C, H, W) of the image a window / convolution / pooling node reads."""
    c, h, w = (int(d) for d in node.attrs["image"])
    return c, h, w


def window_geometry(node: Node) -> tuple[int, int, int, int, int, int, int, int]:
    """(H, W, KH, KW, stride, padding, OH, OW) of a conv2d / pool_window node."""
    _, h, w = image(node)
    kh, kw = (int(k) for k in node.attrs["kernel"])
    s, p = int(node.attrs["stride"]), int(node.attrs["padding"])
    return h, w, kh, kw, s, p, (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1


def window_depth(node: Node) -> int:
    """conv_window's line store: the power of two >= (KH + 1) * W pixels, 4 at least."""
    _, w, kh, *_ = window_geometry(node)
    return line_store_depth(kh, w)


def line_store_depth(kernel_h: int, img_w: int) -> int:
    """Pixels conv_window's line store holds: the power of two >= (KH + 1) * W, 4 at least."""
    return 1 << max(2, math.ceil(math.log2((kernel_h + 1) * img_w)))


#: Cycles from the cycle a pixel is taken to the first cycle a window beat reading it can be
#: emitted into conv_window's output register: the pixel counter counts it the cycle after, and
#: the beat's "available" flag is a register computed from the counter.
PIXEL_TO_EMIT = 2


@dataclass(frozen=True)
class WindowRun:
    """conv_window's handshakes for a stream of images (see :func:`window_run`).

    Attributes:
        beats: cycle each window beat is taken by the consumer (offered, with an always-ready one).
        emits: cycle each window beat enters the output register (it is offered the cycle after).
        taken: cycle each pixel is taken.
        per_image: window beats per image.
    """

    beats: list[int]
    emits: list[int]
    taken: list[int]
    per_image: int


def window_beats_per_window(node: Node, window_par: int) -> int:
    """Beats of one window with ``window_par`` window pixels per beat: ``ceil(KH * KW / window_par)``."""
    _, _, kh, kw, *_ = window_geometry(node)
    return -(-kh * kw // window_par)


def window_run(node: Node, times: list[int], replay: int, window_par: int = 1, skid: bool = False) -> WindowRun:
    """conv_window's handshakes for the images whose pixels are offered at ``times`` (one entry per
    pixel, images back to back; a pixel stays offered until taken and the next is offered the
    cycle after at the earliest), ``window_par`` window pixels per beat, the consumer taking every
    beat as soon as it is offered except for ``replay`` cycles after the last beat of a window
    position (fixed_conv2d's later output groups re-read the stored window). ``skid``: a
    skid_buffer lies between the window and that consumer (fixed_conv2d), and ``beats`` are the
    cycles the consumer takes the beats out of it.

    The model of rtl/conv/conv_window.sv, event by event:

    * pixels are numbered across images; pixel ``g`` is taken one cycle after the previous one at
      the earliest, and only while ``g < F + DEPTH``, F being the first pixel read by the band
      (window row) of the oldest beat not yet emitted: from the cycle after the last beat of the
      band before the first band whose ``F + DEPTH`` exceeds ``g`` is emitted. So the next
      image's pixels come in while the current image's last bands are emitted (no gap);
    * window beat ``j`` is emitted ``PIXEL_TO_EMIT`` cycles after the last of its pixels that read
      the image is taken (a beat of padding only: its image's first pixel), not before the cycle
      the previous beat is taken (the output register empties then), and from cycle 1 (the beat
      register fills in cycle 0); it is offered the cycle after it is emitted;
    * with ``skid``, the skid_buffer takes beat ``j`` from the output register once it is offered
      and the buffer held at most one beat after the previous cycle (its ready is a flip-flop):
      ``w_j = max(e_j + 1, c_{j-2} + 1)``; it offers the beat the cycle after it arrives or after
      the previous beat is taken, ``max(w_j, c_{j-1}) + 1``, and the consumer takes it then
      (``c_j``, later after a replay).
    """
    h, w, kh, kw, s, p, oh, ow = window_geometry(node)
    depth, pixels = window_depth(node), h * w
    images = len(times) // pixels
    first = [max(0, b * s - p) * w for b in range(oh)]  # first pixel each band reads
    taken: list[int] = []
    band_done: list[int] = []  # emit cycle of each band's last beat, bands numbered across images
    emits: list[int] = []
    beats: list[int] = []
    window_taken: list[int] = []  # cycle each beat leaves conv_window's output register

    def band_limit(r: int) -> int:  # F + DEPTH of band r (numbered across images)
        return (r // oh) * pixels + first[r % oh] + depth

    admit_band = 0  # the first band whose limit exceeds the next pixel to take

    def take_until(need: int) -> None:
        nonlocal admit_band
        while len(taken) <= need:
            g = len(taken)
            while band_limit(admit_band) <= g:
                admit_band += 1
            t = times[g] if not taken else max(times[g], taken[-1] + 1)
            taken.append(max(t, band_done[admit_band - 1] + 1 if admit_band else 0))

    per_window = window_beats_per_window(node, window_par)
    for m in range(images):
        for oy in range(oh):
            for ox in range(ow):
                for q in range(per_window):
                    need = m * pixels  # a beat of padding only waits for its image's first pixel
                    for k in range(q * window_par, min((q + 1) * window_par, kh * kw)):
                        y, x = oy * s + k // kw - p, ox * s + k % kw - p
                        if 0 <= y < h and 0 <= x < w:
                            need = m * pixels + y * w + x  # raster order: the last one is the latest
                    take_until(need)
                    e = max(taken[need] + PIXEL_TO_EMIT, 1, window_taken[-1] if window_taken else 0)
                    if skid:  # w_j and c_j of the docstring
                        left = max(e + 1, beats[-2] + 1) if len(beats) >= 2 else e + 1
                        c = max(left, beats[-1] if beats else 0) + 1
                    else:
                        c = e + 1
                    if beats and q == 0:
                        c = max(c, beats[-1] + 1 + replay)
                    emits.append(e)
                    window_taken.append(left if skid else c)
                    beats.append(c)
            band_done.append(emits[-1])
    take_until(images * pixels - 1)
    return WindowRun(beats, emits, taken, oh * ow * per_window)


def window_schedule(
    node: Node, times: list[int], replay: int, window_par: int = 1, skid: bool = False
) -> tuple[list[int], list[int]]:
    """(cycle of every window beat, cycle every pixel is taken) of one image in an otherwise empty
    conv_window, from its pixels' offered cycles (see :func:`window_run`)."""
    run = window_run(node, times, replay, window_par, skid)
    return run.beats, run.taken


def window_beat_times(node: Node, times: list[int], replay: int, window_par: int = 1, skid: bool = False) -> list[int]:
    """Cycle of every window beat of one image (see :func:`window_run`)."""
    return window_run(node, times, replay, window_par, skid).beats


#: Images simulated to find conv_window's steady state.
PERIOD_IMAGES = 6


@functools.lru_cache(maxsize=256)
def _window_period(geometry: tuple[int, ...], replay: int, window_par: int, skid: bool) -> int:
    h, w, kh, kw, s, p = geometry
    node = Node(name="period", op="period", attrs={"image": (1, h, w), "kernel": (kh, kw), "stride": s, "padding": p})
    run = window_run(node, [0] * (PERIOD_IMAGES * h * w), replay, window_par, skid)
    starts = run.beats[:: run.per_image]
    gaps = {b - a for a, b in zip(starts[1:], starts[2:])}
    if len(gaps) != 1:
        raise AssertionError(
            f"conv_window {geometry} replay {replay} window_par {window_par}: no steady image period ({sorted(gaps)})"
        )
    return gaps.pop()


def window_period(node: Node, replay: int, window_par: int = 1, skid: bool = False) -> int:
    """Cycles per image of conv_window when pixels arrive whenever asked for and images follow
    each other: the spacing of the images' first window beats in steady state (from the second
    image on; images stream through, so it is the larger of the window beats, with ``replay``
    cycles after each position's last, and the pixels the line store lets in per image)."""
    h, w, kh, kw, s, p, _, _ = window_geometry(node)
    return _window_period((h, w, kh, kw, s, p), replay, window_par, skid)


def window_terms(p: dict[str, Any]) -> Terms:
    """conv_window's structural terms from its RTL parameters: position counters, coordinates and
    raster indices kept incrementally in narrow registers (no products, so no DSP); WINDOW_PAR
    copies of the line store (LUTRAM once deep enough, which the LUT count leaves out, else
    registers and read multiplexers), each with its output register (in flip-flops unless the
    store is in block RAM, whose output register it becomes); every slot beyond the first
    its read address (an adder of the store's address width and its register); with padding,
    the comparisons that tell a window pixel inside the image from padding (as wide as the
    counters)."""
    par = p["WINDOW_PAR"]
    pixel = p["CHANNELS"] * p["DATA_WIDTH"]
    depth = line_store_depth(p["KERNEL_H"], p["IMG_W"])
    store = depth * pixel
    bram = par * rom_bram_tiles(depth, pixel) if store_in_bram(depth, pixel) else 0
    counters = sum(math.ceil(math.log2(v + 1)) for v in (p["IMG_H"], p["IMG_W"], p["KERNEL_H"], p["KERNEL_W"]))
    # the output register: a block RAM's own output register when the store is in block RAM
    bits = 0 if bram else par * pixel
    terms = {"store": par * store, "bits": bits, "counters": counters, "base": 1}
    terms["pad"] = counters if p["PADDING"] > 0 else 0
    terms["slots"] = (par - 1) * math.ceil(math.log2(depth))
    return Terms(lut=terms, ff=dict(terms), bram=bram)


def random_window_parameters(rng: np.random.Generator) -> dict[str, Any]:
    """One random legal conv_window geometry: 1 to 32 channels of 2 to 16 bits, images 2 to 32
    pixels a side, kernels 1 to 5, strides 1 and 2, padding 0 to 2; one window pixel per beat
    half the time, else 2 to all of the window's."""
    kh, kw = int(rng.choice((1, 2, 3, 5))), int(rng.choice((1, 2, 3, 5)))
    pad = int(rng.integers(0, min(kh, kw)))
    h = int(rng.choice([v for v in (2, 4, 6, 8, 12, 16, 24, 32) if v + 2 * pad >= kh]))
    w = int(rng.choice([v for v in (2, 4, 6, 8, 12, 16, 24, 32) if v + 2 * pad >= kw]))
    par = 1 if kh * kw == 1 or rng.random() < 0.5 else int(rng.integers(2, kh * kw + 1))
    return {
        "WINDOW_PAR": par,
        "CHANNELS": int(rng.choice((1, 2, 3, 4, 8, 16, 32))),
        "DATA_WIDTH": int(rng.choice((2, 3, 4, 6, 8, 12, 16))),
        "IMG_H": h,
        "IMG_W": w,
        "KERNEL_H": kh,
        "KERNEL_W": kw,
        "STRIDE": int(rng.choice((1, 2))),
        "PADDING": pad,
    }


def bench_node(params: dict[str, Any], channels: str, weight: tuple[int, ...] | None = None) -> Node:
    """The graph node a bench parameter set stands for (geometry and, for a convolution, the
    weight shape), so that a bench's timing is checked against the mapper's own model."""
    return Node(
        name="bench",
        op="bench",
        attrs={
            "image": (params[channels], params["IMG_H"], params["IMG_W"]),
            "kernel": (params["KERNEL_H"], params["KERNEL_W"]),
            "stride": params["STRIDE"],
            "padding": params["PADDING"],
        },
        weight=None if weight is None else np.zeros(weight, dtype=np.int64),
    )


def image_lanes(node: Node) -> list[Fold]:
    """A beat is one pixel with all its channels."""
    c = image(node)[0]
    return [Fold(c, c)]
