"""Verification: the cocotb + pyuvm library (``sim.verif``), component benches (``sim.tb``) and the
Verilator runner (``sim.runner``)."""
