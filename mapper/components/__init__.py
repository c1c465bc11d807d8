"""The component library as everything else sees it: one descriptor per component, by family.

Importing this package imports every module of it, which registers every descriptor in
:data:`LIBRARY` (a new family file needs no edit here). See :mod:`mapper.components.base` for what
a descriptor states; the families are

| module | components |
| --- | --- |
| ``stream`` | skid_buffer, pipe_ctrl, stream_fifo, stream_fork, stream_join, stream_resize |
| ``arith`` | fixed_requant_reg, add_tree, mult_pipe, fixed_cast, fixed_relu, fixed_add, fixed_mul |
| ``linear`` | fixed_linear |
| ``conv`` | conv_window, fixed_conv2d, fixed_dwconv2d |
| ``pool`` | pool_max, pool_avg |
| ``act`` | fixed_lut |
| ``norm`` | fixed_affine |
| ``attention`` | fixed_matmul, fixed_softmax, fixed_layernorm (and attn_divide, attn_isqrt) |
"""

import importlib
import pkgutil

from mapper.components.base import (
    LIBRARY,
    BenchTiming,
    Component,
    Mutant,
    for_op,
    get,
    sources,
    supported_ops,
)

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["LIBRARY", "BenchTiming", "Component", "Mutant", "for_op", "get", "sources", "supported_ops"]
