"""Quantization pass: number-format configs, bit-exact quantized modules, model transform."""
