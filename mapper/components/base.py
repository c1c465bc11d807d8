"""The component descriptor: everything the project states about one library component, in one class.

A component is its RTL (``rtl/<kind>/<name>.sv``), its golden function (``golden/``), its bench
(``sim/tb/test_<name>.py``) and its descriptor: a subclass of :class:`Component` registered with
:func:`register`. The descriptor is the only place that knows

* the RTL: file, the components it instantiates (``depends``), parameters with defaults;
* verification: the bench module, the parameter sweep, memory images for a run (``prepare``),
  expected handshake timing (``timing``) and deliberate bugs its benches must catch (``mutants``);
* the mapper's model: graph operations it implements (``ops``), legal parallelism (``folds``), RTL
  parameters from a graph node (``parameters``), memory images (``memories``), the integer function
  (``golden``), cycles per vector, output beat times (the latency model) and resources.

Everything else reads it: the bench runner and ``make sim`` / ``make synth``, the mapper's passes,
the FuseSoC core generator and the parameterised timing and mutation tests. Graph nodes are
:class:`mapper.graph.Node` records; ``Fold`` and ``Resources`` are defined there too.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from eda.toolchain import BUILD_ROOT, REPO_ROOT
from golden.fixed import FixedType, IntArray
from mapper.components.resource_model import Terms, estimate
from mapper.errors import UnsupportedOperationError
from mapper.graph import Fold, Node, Resources
from sim import runner
from sim.mutants import Mutant as SimMutant
from sim.offline import bench_of
from sim.verif.ports import BenchSpec

RTL_ROOT = REPO_ROOT / "rtl"


@dataclass(frozen=True)
class Mutant:
    """A deliberate bug: ``original`` replaced by ``replacement`` in this component's RTL file.

    ``caught_by`` lists (component, sweep index) pairs whose bench must fail on the mutant (the
    component's own bench, or that of a component built on it).
    """

    name: str
    original: str
    replacement: str
    caught_by: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Elastic:
    """A stage between a FIFO and the nearest producer with a schedule of its own, as the FIFO's
    back-pressure sees it (:func:`mapper.passes.schedule.fifo_depth`): it takes an input beat whenever it holds fewer
    than ``capacity`` beats (its ready is a flip-flop or its fill level, so a beat leaving in the
    same cycle does not count), offers it ``latency`` cycles later and the next one at the
    earliest the cycle after the previous one is taken. ``split``: each input beat leaves as that
    many output beats (stream_resize splitting a beat: the first piece enters its output
    skid_buffer with the input beat, the others one per cycle from a register); ``gather``: that
    many input beats make one output beat (the earlier pieces wait in a register, which always
    takes them; the last one enters the output skid_buffer with them). ``capacity`` and
    ``latency`` are then those of the output skid_buffer (2 and 1)."""

    capacity: int
    latency: int
    split: int = 1
    gather: int = 1


@dataclass(frozen=True)
class BenchTiming:
    """Handshake timing of one bench run without input gaps or output stalls.

    Attributes:
        interval: cycles between the first output beats of consecutive groups in steady state.
        latency: cycles from the last input beat the first output beat needs (``needs``) to that
            output beat (None: not a fixed figure, e.g. a window generator emits before its
            image has arrived).
        in_spacing: cycles between consecutive input transfers (every input port), or None when
            they come in bursts.
        out_spacing: cycles between consecutive output transfers, or None when bursty.
        needs: input beats of the first group the first output beat depends on (None: all of
            them; 1 for a component that passes a group through beat by beat).
    """

    interval: int
    latency: int | None
    in_spacing: int | None = None
    out_spacing: int | None = None
    needs: int | None = None


#: Writes a component's memory images for one run: (parameters, seed, folder) ->
#: (parameters with file names filled in, context for the bench).
Prepare = Callable[[dict[str, Any], int, Path], tuple[dict[str, Any], dict[str, Any]]]


def divisors(n: int) -> list[int]:
    """Positive divisors of ``n``, ascending."""
    return [d for d in range(1, n + 1) if n % d == 0]


def elements(shape: tuple[int, ...]) -> int:
    """Elements of one sample of a tensor of per-sample ``shape``."""
    return int(math.prod(shape))


def random_constants(rng: np.random.Generator, shape: tuple[int, ...], width: int) -> IntArray:
    """Random signed ``width``-bit integers (bench constants such as weights), range ends drawn often."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    values = rng.integers(lo, hi + 1, size=shape)
    return np.where(rng.random(shape) < 0.15, rng.choice([lo, hi], size=shape), values)


def in_format(node: Node) -> FixedType:
    """The node's input number format."""
    assert node.formats is not None, f"node {node.name} has no formats"
    return node.formats.data_in


def out_format(node: Node) -> FixedType:
    """The node's output number format."""
    assert node.formats is not None, f"node {node.name} has no formats"
    return node.formats.data_out


class Component:
    """Base class of every descriptor (see the module docstring). Subclasses set the class
    attributes; mappable ones (``ops`` not empty) override the model methods."""

    #: SystemVerilog module name; the file is ``rtl/<kind>/<name>.sv``.
    name: ClassVar[str]
    #: Folder of the file under ``rtl/`` (the component's family).
    kind: ClassVar[str]
    #: One line: what it does.
    summary: ClassVar[str]
    #: Components whose modules this one instantiates (their files come first).
    depends: ClassVar[tuple[str, ...]] = ()
    #: Graph operations it implements (empty: not placed by the mapper on its own).
    ops: ClassVar[tuple[str, ...]] = ()
    #: Its bench module (``sim.tb.test_<name>``), or None for a primitive verified through others.
    bench: ClassVar[str | None] = None
    #: Every parameter of the module with its default.
    defaults: ClassVar[dict[str, Any]] = {}
    #: Parameter overrides of the sets each bench run applies on top of ``defaults``.
    sweeps: ClassVar[tuple[dict[str, Any], ...]] = ()
    #: Golden-model groups a bench run sends by default.
    groups: ClassVar[int] = 300
    #: Sweep entries whose handshake timing is checked against :meth:`timing`.
    timed_sweeps: ClassVar[tuple[int, ...]] = ()
    #: The sweep entry its Fmax is judged at (``make timing``): the largest in logic and
    #: arithmetic width; None: the last one.
    fmax_sweep: ClassVar[int | None] = None
    #: Its data_out comes straight from a skid_buffer (two beats, registered ready): a beat its
    #: consumer refuses waits there with the next one behind it before the component stalls, which
    #: FIFO sizing counts on (:func:`mapper.passes.schedule.fifo_depth`). False (no such slack
    #: counted): a single output register, or a fork, whose refused beat holds up its other outputs.
    output_skid: ClassVar[bool] = False
    #: Points of its calibration grid ``make calibrate`` synthesizes (see ``calibration_grid``).
    calibration_points: ClassVar[int] = 24
    #: Deliberate bugs in this component's file and the benches that must catch them.
    mutants: ClassVar[tuple[Mutant, ...]] = ()

    # ---- the RTL ------------------------------------------------------------------------------

    @property
    def file(self) -> Path:
        """The component's own SystemVerilog file."""
        return RTL_ROOT / self.kind / f"{self.name}.sv"

    @property
    def sources(self) -> list[Path]:
        """Every file the module needs, dependencies first, no repeats."""
        return sources([self.name])

    def parameters_with(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
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
        """The parameter sets the bench runs (the defaults when there is no sweep)."""
        return [self.parameters_with(s) for s in (self.sweeps or ({},))]

    def fmax_index(self) -> int:
        """Index in :meth:`sweep` of the set its Fmax is judged at (see ``fmax_sweep``)."""
        return len(self.sweep()) - 1 if self.fmax_sweep is None else self.fmax_sweep

    # ---- verification -------------------------------------------------------------------------

    def prepare(self, params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """Write the memory images of one bench run; returns (parameters with file names filled
        in, context for the bench). Components without memories return ``params`` unchanged."""
        return params, {}

    def prepared(self, params: dict[str, Any], seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Parameters and bench context for one run, writing memory images when needed.

        Illegal parameters usually break the image writer first; the RTL's own elaboration
        check then names them (a build with placeholder file names).
        """
        key = hashlib.sha256(json.dumps([params, seed], sort_keys=True).encode()).hexdigest()[:12]
        try:
            return self.prepare(params, seed, BUILD_ROOT / "data" / f"{self.name}-{key}")
        except (ValueError, IndexError) as err:
            placeholder = {k: "unset.memh" if k.endswith("_FILE") else v for k, v in params.items()}
            runner.build(self.name, self.sources, placeholder)
            raise ValueError(f"{self.name}: no memory images for these parameters: {err}") from err

    def run(
        self, params: dict[str, Any], options: runner.RunOptions, tag: str = "", files: list[Path] | None = None
    ) -> dict[str, Any]:
        """Simulate the bench with ``params`` (see :func:`sim.runner.run`); ``files`` replaces the
        sources (a mutant's)."""
        if self.bench is None:
            raise ValueError(f"{self.name} has no bench of its own; it is verified through {self.depends}")
        full, context = self.prepared(params, options.seed)
        return runner.run(self.name, files or self.sources, self.bench, full, options, tag=tag, context=context)

    def bench_spec(self, overrides: dict[str, Any] | None = None, seed: int = 1) -> tuple[dict[str, Any], BenchSpec]:
        """(full parameters with memory images written, the bench's BenchSpec) for ``overrides``
        on the defaults, outside a simulation (for the SystemVerilog harness and stimulus tests)."""
        if self.bench is None:
            raise ValueError(f"{self.name} has no bench of its own")
        params, context = self.prepared(self.parameters_with(overrides), seed)
        return params, bench_of(self.bench, params, context)

    def mutant(self, mutant: Mutant) -> SimMutant:
        """The file-level mutant (``sim.mutants``) of one of this component's mutants."""
        return SimMutant(mutant.name, self.file.relative_to(RTL_ROOT).as_posix(), mutant.original, mutant.replacement)

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """Expected handshake timing of a bench run with ``params`` (see ``timed_sweeps``)."""
        raise NotImplementedError(f"{self.name} states no bench timing")

    # ---- the mapper's model -------------------------------------------------------------------

    def folds(self, node: Node) -> list[Fold]:
        """Legal parallelism choices for ``node`` (an empty list: fixed by the neighbours)."""
        raise NotImplementedError(f"{self.name} is not placed by the mapper")

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        """RTL parameters (memory-image paths excluded); ``bit`` parameters as Python bools."""
        raise NotImplementedError(f"{self.name} is not placed by the mapper")

    def memories(self, node: Node, fold: Fold, folder: Path) -> dict[str, str]:
        """Write the node's memory images into ``folder``; returns parameter -> file path."""
        return {}

    def golden(self, node: Node, x: IntArray) -> IntArray:
        """The node's integer function on a batch ``(B, elements_in) -> (B, elements_out)``."""
        raise NotImplementedError(f"{self.name} is not placed by the mapper")

    def cycles(self, node: Node, fold: Fold) -> int:
        """Cycles per input vector (initiation interval) in steady state without stalls."""
        raise NotImplementedError(f"{self.name} is not placed by the mapper")

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        """Cycle of each output beat of one vector given its input beats' cycles, in an otherwise
        empty pipeline with an always-ready consumer (the latency model)."""
        raise NotImplementedError(f"{self.name} is not placed by the mapper")

    def accept_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        """Cycle each input beat of one vector is taken, given the cycles they are offered, in an
        otherwise empty pipeline (default: when offered; a component that stalls its input
        within a vector overrides this)."""
        return list(times)

    def elastic(self, node: Node, fold: Fold) -> Elastic | None:
        """How the node holds beats its consumer refuses when it stands between a FIFO and the
        producer that paces it (:func:`mapper.passes.schedule.fifo_depth`), or None (default): its
        own schedule changes when it stalls (a compute node with state, a fork, a join), so FIFO
        sizing looks no further back."""
        return None

    def operand_beat_times(self, node: Node, fold: Fold, operands: list[list[int]]) -> list[int]:
        """Output beat cycles of a node of several inputs from each operand's offered beat cycles
        (port order). Default: a join, which takes beat ``i`` of every operand together once all
        are there (:meth:`beat_times` of the element-wise latest)."""
        return self.beat_times(node, fold, [max(ts) for ts in zip(*operands)])

    def operand_accept_times(self, node: Node, fold: Fold, operands: list[list[int]]) -> list[list[int]]:
        """Cycles a node of several inputs takes each operand's beats (port order), given the cycles
        they are offered. Default: a join, every operand's beat ``i`` when the latest arrives."""
        merged = [max(ts) for ts in zip(*operands)]
        return [merged for _ in operands]

    def resources(self, node: Node, fold: Fold) -> Resources:
        """LUT / FF / DSP / BRAM estimate of the node at ``fold``: by default the calibrated model
        of :meth:`resource_terms` on the node's RTL parameters."""
        return estimate(self.name, self.resource_terms(self.parameters(node, fold)))

    # ---- the calibrated resource model (mapper.components.resource_model, make calibrate) -------

    def resource_terms(self, params: dict[str, Any]) -> Terms:
        """Structural LUT / FF terms and exact DSP / BRAM of an instance with RTL ``params``."""
        raise NotImplementedError(f"{self.name} has no calibrated resource model")

    def calibration_grid(self, rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
        """``count`` legal parameter sets spanning widths, parallelism and memory depths, on which
        ``make calibrate`` synthesizes the component to fit its :meth:`resource_terms`; empty for
        a component without a calibrated model."""
        return []

    def input_buffer(self, node: Node, fold: Fold) -> int:
        """Beats of FIFO needed in front of the node for its producer to keep the pipeline rate."""
        return 0


LIBRARY: dict[str, Component] = {}


def register(cls: type[Component]) -> type[Component]:
    """Class decorator: add one instance of ``cls`` to :data:`LIBRARY`.

    A name may be registered once and a graph operation implemented by one component only.
    ``depends`` names are resolved when sources are asked for (families register in any order).
    """
    comp = cls()
    taken = {op: c.name for c in LIBRARY.values() for op in c.ops}
    clash = sorted(op for op in comp.ops if op in taken)
    if comp.name in LIBRARY or clash:
        raise ValueError(f"component {comp.name} registered twice or op(s) {clash} already implemented")
    LIBRARY[comp.name] = comp
    return cls


def get(name: str) -> Component:
    """The component called ``name``; an unknown name is an error that lists the known ones."""
    try:
        return LIBRARY[name]
    except KeyError:
        raise KeyError(f"unknown component {name!r}; known: {', '.join(sorted(LIBRARY))}") from None


def sources(names: list[str]) -> list[Path]:
    """RTL files of the given components and everything they instantiate, dependencies first."""
    files: list[Path] = []

    def visit(name: str) -> None:
        comp = get(name)
        for dep in comp.depends:
            visit(dep)
        if comp.file not in files:
            files.append(comp.file)

    for n in names:
        visit(n)
    return files


#: Operations the mapper inserts itself; a captured graph never holds them.
PLUMBING_OPS = frozenset({"fifo", "resize", "fork", "slice"})
#: Operations capture makes as part of another (``pool_window``: the windows of a max_pool2d).
INTERNAL_OPS = frozenset({"pool_window"})


def supported_ops() -> list[str]:
    """Graph operations some component implements (plumbing and internal ones excluded), sorted."""
    return sorted({op for c in LIBRARY.values() for op in c.ops} - PLUMBING_OPS - INTERNAL_OPS)


def for_op(op: str, node_name: str) -> Component:
    """The component implementing ``op``; otherwise an UnsupportedOperationError naming the node."""
    for comp in LIBRARY.values():
        if op in comp.ops:
            return comp
    raise UnsupportedOperationError(
        f"node {node_name!r}: operation {op!r} has no library component; supported: "
        f"{', '.join(supported_ops())} (view/reshape/flatten/dropout are folded; quantization folds a "
        "batch-norm after a conv / linear)"
    )


class Elementwise(Component):
    """A component that takes one beat per cycle and emits one beat one cycle later (its output
    register), with the same lanes in and out: any divisor of the elements."""

    def folds(self, node: Node) -> list[Fold]:
        return [Fold(d, d) for d in divisors(elements(node.out_shape))]

    def cycles(self, node: Node, fold: Fold) -> int:
        return elements(node.out_shape) // fold.out_lanes

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return [t + 1 for t in times]
