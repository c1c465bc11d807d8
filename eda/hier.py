"""Equal submodules of an elaborated design, merged so that Yosys synthesizes each one once.

``read_slang --keep-hierarchy`` gives every instance its own module (``mult_pipe$top.gen_lane[3]
.gen_mac[5].u_mult``), so keeping the hierarchy alone does not make Yosys synthesize a module
used 3,136 times once. :func:`merge_equal_modules` rewrites the RTLIL text that Yosys writes
after elaboration (``write_rtlil``): modules whose bodies are equal up to their internal (``$``)
names and the classes of their own submodules form one class; one module of each class is kept
and every instance of the class is retyped to it. ``stat`` then counts the kept modules times
their instances (its ``design`` totals).

Flattening propagates constants across module boundaries, which a kept hierarchy would hide: an
unsigned operand widened to a signed port by a constant 0 bit makes a larger multiplier when the
0 is not known inside. So an instance whose input port bits are driven by constants (visible in
its connection, such as ``{ 1'0 \\x [1:0] }``) is retyped to a *wrapper* of its class: a module
with the same ports that instantiates the class with those bits tied to the constants, and which
the synthesis script flattens (the class inlined into the wrapper, where the constants
propagate; see :data:`WRAPPER_ATTRIBUTE`). Instances with equal constants share a wrapper. What
stays hidden: constants that appear only after optimisation (a register loaded with a constant,
the read of a one-word ROM) and outputs that no instance uses.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

__all__ = ["WRAPPER_ATTRIBUTE", "Merged", "merge_equal_modules"]

#: The module attribute that marks a constant-tying wrapper: ``flatten -noscopeinfo A:<it>`` inlines its class.
WRAPPER_ATTRIBUTE = "chop_const_wrapper"

_INTERNAL = re.compile(r"(?<=\s)(?<!cell )\$\S+")  # an internal name: a $ token, not a cell's type
_CONST = re.compile(r"(\d+)'([01xzm-]+)")
_SLICE = re.compile(r"\[(\d+)(?::(\d+))?\]")


@dataclass
class _Cell:
    """A cell of a module: its header line, type, and the connect lines (port, sigspec)."""

    line: int
    kind: str
    name: str
    connects: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass
class _Module:
    name: str
    lines: list[str]  # from its attribute lines to its "end"
    widths: dict[str, int]  # every wire's width
    inputs: dict[str, int]  # input port -> width
    port_lines: list[str]  # the port wire declarations, in order
    plain_ports: bool  # no port has an offset or upto (the wrapper's bit numbering is then plain)
    cells: list[_Cell]
    one_word: set[str] = field(default_factory=set)  # memories of one word

    def constant_memories(self) -> int:
        """Memories of one word that no cell writes: constants behind a read register."""
        written = {
            c.parameters.get("\\MEMID", "").strip('"').replace("\\\\", "\\")
            for c in self.cells
            if c.kind.startswith("$memwr")
        }
        return len(self.one_word - written)


@dataclass
class Merged:
    """The merged RTLIL and what the merge did.

    Attributes:
        rtlil: the design with one module per class (and the wrappers).
        modules: modules before the merge.
        classes: modules after it (without wrappers).
        wrappers: constant-tying wrappers (flattened before synthesis).
        constant_memories: read-only memories of one word in the kept modules: constants that
            reach the submodules only through a register, which a kept hierarchy hides.
    """

    rtlil: str
    modules: int
    classes: int
    wrappers: int
    constant_memories: int


def _parse(text: str) -> tuple[list[str], dict[str, _Module]]:
    """The lines outside modules and the modules of an RTLIL document, by name."""
    head: list[str] = []
    modules: dict[str, _Module] = {}
    pending: list[str] = []  # attribute lines before a module
    current: _Module | None = None
    cell: _Cell | None = None
    for line in text.splitlines():
        if current is None:
            if line.startswith("attribute "):
                pending.append(line)
            elif line.startswith("module "):
                name = line.split()[1]
                current = _Module(name, [*pending, line], {}, {}, [], True, [])
                pending = []
            else:
                head.extend(pending)
                head.append(line)
                pending = []
            continue
        current.lines.append(line)
        words = line.split()
        if line == "end":
            modules[current.name] = current
            current = None
        elif line.startswith("  wire "):
            _wire(current, line, words)
        elif line.startswith("  cell "):
            cell = _Cell(len(current.lines) - 1, words[1], words[2])
            current.cells.append(cell)
        elif line.startswith("    connect ") and cell is not None:
            cell.connects[words[1]] = line.split(None, 2)[2]
        elif line.startswith("    parameter ") and cell is not None:
            cell.parameters[words[1]] = line.split(None, 2)[2]
        elif line.startswith("  memory ") and "size" in words and words[words.index("size") + 1] == "1":
            current.one_word.add(words[-1])
        elif line == "  end":
            cell = None
    head.extend(pending)
    return head, modules


def _wire(module: _Module, line: str, words: list[str]) -> None:
    opts, name = words[1:-1], words[-1]
    width = int(opts[opts.index("width") + 1]) if "width" in opts else 1
    module.widths[name] = width
    if any(d in opts for d in ("input", "output", "inout")):
        module.port_lines.append(line)
        module.plain_ports &= "offset" not in opts and "upto" not in opts
        if "input" in opts:
            module.inputs[name] = width


def _bits(sig: str, widths: dict[str, int]) -> list[str | None] | None:
    """The bits of sigspec ``sig``, least significant first: "0" or "1" for a constant bit, None
    for any other; None when the sigspec is not one this parser reads."""
    tokens = sig.split()
    if tokens and tokens[0] == "{":
        if tokens[-1] != "}":
            return None
        tokens = tokens[1:-1]
    chunks: list[list[str | None]] = []  # most significant chunk first
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        const = _CONST.fullmatch(tok)
        if const:
            if int(const.group(1)) != len(const.group(2)):
                return None
            chunks.append([b if b in "01" else None for b in reversed(const.group(2))])
        elif tok[0] in "\\$" and tok in widths:
            width = widths[tok]
            if i + 1 < len(tokens) and (part := _SLICE.fullmatch(tokens[i + 1])):
                hi, lo = int(part.group(1)), int(part.group(2) or part.group(1))
                width = hi - lo + 1
                i += 1
            chunks.append([None] * width)
        else:
            return None
        i += 1
    return [b for chunk in reversed(chunks) for b in chunk]


def _constants(cell: _Cell, parent: _Module, child: _Module) -> tuple[tuple[str, int, str], ...]:
    """The (port, bit, value) of each input bit of ``cell`` (an instance of ``child`` in
    ``parent``) that its connection ties to a constant 0 or 1."""
    if not child.plain_ports:
        return ()
    found = []
    for port, width in sorted(child.inputs.items()):
        bits = _bits(cell.connects.get(port, ""), parent.widths)
        if bits is not None and len(bits) == width:
            found.extend((port, i, b) for i, b in enumerate(bits) if b is not None)
    return tuple(found)


def _wrapper(name: str, child: _Module, constants: tuple[tuple[str, int, str], ...]) -> list[str]:
    """A module ``name`` with ``child``'s ports that instantiates ``child`` with ``constants``."""
    tied: dict[str, dict[int, str]] = {}
    for port, bit, value in constants:
        tied.setdefault(port, {})[bit] = value
    connects = []
    for line in child.port_lines:
        port = line.split()[-1]
        if port in tied:
            width = child.widths[port]
            bits = [f"1'{tied[port][i]}" if i in tied[port] else f"{port} [{i}]" for i in reversed(range(width))]
            connects.append(f"    connect {port} {{ {' '.join(bits)} }}")
        else:
            connects.append(f"    connect {port} {port}")
    return [
        f"attribute \\{WRAPPER_ATTRIBUTE} 1",
        f"module {name}",
        *child.port_lines,
        f"  cell {child.name} \\u_class",
        *connects,
        "  end",
        "end",
    ]


def merge_equal_modules(text: str) -> Merged:
    """Merge the equal modules of RTLIL document ``text`` (see the module docstring)."""
    head, modules = _parse(text)
    digest: dict[str, str] = {}  # module -> digest of its body with its cells retyped
    rewritten: dict[str, list[str]] = {}  # module -> its lines with its cells retyped
    first: dict[str, str] = {}  # digest -> the module kept for it
    wrappers: dict[tuple[str, tuple[tuple[str, int, str], ...]], str] = {}
    wrapper_lines: list[str] = []

    def retype(cell: _Cell, parent: _Module) -> str:
        child = modules[cell.kind]
        kept = first[visit(child.name)]
        constants = _constants(cell, parent, child)
        if not constants:
            return kept
        key = (kept, constants)
        if key not in wrappers:
            wrappers[key] = f"{kept}$const{len(wrappers)}"
            wrapper_lines.extend(_wrapper(wrappers[key], modules[kept], constants))
        return wrappers[key]

    def visit(name: str) -> str:
        if name in digest:
            return digest[name]
        module = modules[name]
        lines = list(module.lines)
        for cell in module.cells:
            if cell.kind in modules:
                lines[cell.line] = f"  cell {retype(cell, module)} {cell.name}"
        body = "\n".join(line if not line.startswith("module ") else "module" for line in lines)
        ids: dict[str, str] = {}
        body = _INTERNAL.sub(lambda m: ids.setdefault(m.group(0), f"${len(ids)}"), body)
        digest[name] = hashlib.sha256(body.encode()).hexdigest()
        first.setdefault(digest[name], name)
        rewritten[name] = lines
        return digest[name]

    for name in modules:
        visit(name)
    kept = [rewritten[name] for name in first.values()]
    rtlil = "\n".join([*head, *(line for lines in kept for line in lines), *wrapper_lines]) + "\n"
    constant = sum(modules[name].constant_memories() for name in first.values())
    return Merged(rtlil, len(modules), len(kept), len(wrappers), constant)
