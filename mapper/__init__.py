"""Dataflow mapper: quantized PyTorch model -> networkx graph -> folded pipeline of library
components -> emitted, simulated and synthesized accelerator (see docs/mapper.md)."""
