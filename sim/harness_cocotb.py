"""cocotb as the orchestrator of a generated harness (sim/harness.py), for comparison only.

The harness top generates its own clock and raises ``done`` at the end of the run; this cocotb
test does nothing but wait for that one edge. ``bench/network_sim_speed.py`` builds the harness
this way and measures it against the ``verilator --binary`` build that :func:`sim.harness.run`
uses.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import RisingEdge


@cocotb.test()
async def wait_for_done(dut: object) -> None:
    """Wait for the harness's ``done``; the simulator does everything else."""
    await RisingEdge(dut.done)  # type: ignore[attr-defined]
    if int(dut.deadlock.value):  # type: ignore[attr-defined]
        raise AssertionError("the harness reported a deadlock (see the log)")
