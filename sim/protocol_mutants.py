"""Deliberate breaks of the stream rules in the plumbing's RTL, shared by the tests that prove the
checkers, the after-valid sink, the scoreboard and the harness catch them (docs/verification.md).

Each is a :class:`sim.mutants.Mutant`; the name says which rule it breaks. When the RTL they
patch changes, they are updated here once.
"""

from __future__ import annotations

from sim.mutants import Mutant

#: The fork's output valid ANDed with ready: survives a random sink, deadlocks under a sink that
#: raises ready only after valid.
FORK_VALID_WAITS = Mutant(
    "fork_valid_waits_for_ready",
    "stream/stream_fork.sv",
    "assign data_out_valid = beat_valid ? ~taken : '0;",
    "assign data_out_valid = (beat_valid ? ~taken : '0) & data_out_ready;",
)
#: The join joins its inputs only while its consumer is ready: no beat reaches its output register
#: until the consumer raises ready first.
JOIN_VALID_WAITS = Mutant(
    "join_valid_waits_for_ready",
    "stream/stream_join.sv",
    "assign joint_valid = &data_in_valid;",
    "assign joint_valid = &data_in_valid && data_out_ready;",
)
#: A stalled output beat is withdrawn when no new beat comes in: valid dropped before the transfer.
SKID_VALID_DROPPED = Mutant(
    "skid_valid_dropped",
    "stream/skid_buffer.sv",
    "        if (out_free[c]) out_valid[c] <= skid_valid[c] || push;",
    "        if (out_free[c]) out_valid[c] <= skid_valid[c] || push;\n        else if (!push) out_valid[c] <= 1'b0;",
)
#: The output register reloads while stalled whenever a new beat is offered.
SKID_DATA_UNSTABLE = Mutant(
    "skid_data_unstable",
    "stream/skid_buffer.sv",
    "      if (out_free[c]) out_bits[HI-1:LO] <=",
    "      if (out_free[c] || data_in_valid) out_bits[HI-1:LO] <=",
)
#: The output valid is never reset: X until the first beat.
SKID_VALID_UNRESET = Mutant(
    "skid_valid_unreset",
    "stream/skid_buffer.sv",
    "        out_valid[c] <= 1'b0;\n        in_ready[c]  <= 1'b0;",
    "        in_ready[c]  <= 1'b0;",
)
#: A beat that goes straight to the output carries X data.
SKID_DATA_X = Mutant(
    "skid_data_x",
    "stream/skid_buffer.sv",
    "skid_valid[c] ? skid_bits[HI-1:LO] : in_bits[HI-1:LO];",
    "skid_valid[c] ? skid_bits[HI-1:LO] : 'x;",
)
#: A beat parked while the output is stalled is forgotten: it is lost.
SKID_FORGETS_PARKED_BEAT = Mutant(
    "skid_forgets_parked_beat",
    "stream/skid_buffer.sv",
    "!data_out_ready && (skid_valid[c] || push);",
    "!data_out_ready && skid_valid[c];",
)
#: data_in_ready from the output side only: nothing lost, but fewer beats per cycle under stalls.
SKID_READY_OUTPUT_SIDE = Mutant(
    "skid_ready_output_side",
    "stream/skid_buffer.sv",
    "in_ready[c] <= out_free[c] || !(skid_valid[c] || push);",
    "in_ready[c] <= out_free[c];",
)
#: The join's combinational data path zeroes its data while stalled.
JOIN_DATA_UNSTABLE = Mutant(
    "join_data_unstable",
    "stream/stream_join.sv",
    "assign data_out = data_in;",
    "assign data_out = data_out_ready ? data_in : '0;",
)
