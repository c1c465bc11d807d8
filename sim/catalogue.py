"""The component library as the verification flow sees it: RTL files, bench, parameter sweeps.

One :class:`Component` per module in ``rtl/``. The sweeps cover the extremes the issue tracker
asks for (one lane and many, narrow and wide) and are what ``make sim`` and the tests run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eda.toolchain import REPO_ROOT

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
    """

    name: str
    toplevel: str
    files: tuple[str, ...]
    tb_module: str
    defaults: dict[str, Any]
    sweeps: tuple[dict[str, Any], ...] = field(default_factory=tuple)

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
