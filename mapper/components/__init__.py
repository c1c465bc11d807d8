"""The component library as everything else sees it: one descriptor per component, by family.

Importing this package registers every descriptor in :data:`LIBRARY`. See
:mod:`mapper.components.base` for what a descriptor states; the families are

| module | components |
| --- | --- |
| ``stream`` | skid_buffer, stream_fifo, stream_fork, stream_join, stream_resize |
| ``arith`` | fixed_requant, fixed_cast, fixed_relu, fixed_add, fixed_mul |
| ``linear`` | fixed_linear |
| ``conv`` | conv_window, fixed_conv2d |
| ``pool`` | pool_max, pool_avg |
| ``act`` | fixed_lut |
| ``norm`` | fixed_affine |
"""

from mapper.components import (
    act,  # noqa: F401
    arith,  # noqa: F401
    conv,  # noqa: F401
    linear,  # noqa: F401
    norm,  # noqa: F401
    pool,  # noqa: F401
    stream,  # noqa: F401  (importing a family registers its components)
)
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

__all__ = ["LIBRARY", "BenchTiming", "Component", "Mutant", "for_op", "get", "sources", "supported_ops"]
