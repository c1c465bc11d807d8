"""Bit-exact integer reference model: number formats, rounding, saturation, component functions."""

from golden.fixed import FixedType, fixed_to_float, float_to_fixed, requantize, saturate

__all__ = ["FixedType", "fixed_to_float", "float_to_fixed", "requantize", "saturate"]
