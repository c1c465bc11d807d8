// skid_buffer: a full-throughput register slice for a ready/valid stream.
//
// Both directions are registered: data_out / data_out_valid come from a flip-flop and
// data_in_ready is a flip-flop too, so the buffer cuts every combinational path between its
// producer and its consumer. A second ("skid") register catches the beat that arrives in the
// cycle the consumer stalls, so the stream still moves one beat per cycle under back-pressure.
// The skid register loads the input whenever it is empty (it is marked full only when needed),
// and the control state is kept in one copy per 32 data bits (identical state machines), so that
// no control flip-flop drives the enables of more than 32 data flip-flops: a wide buffer is not
// slowed down by a high-fanout net. Copy 0 drives data_out_valid; data_in_ready is copies 0 ..
// READY_COPIES-1 (all equal every cycle), so a producer whose pipeline enable depends on it can
// split that enable's fan-out over several nets.
//
// Parameters:
//   LANES         lanes per beat (>= 1)
//   WIDTH         bits per lane (>= 1)
//   READY_COPIES  bits of data_in_ready, identical copies of the ready flip-flop (>= 1)
//
// Latency: 1 cycle (a beat accepted at edge t is offered at data_out after edge t).
// Initiation interval: 1 (one beat per cycle when data_out_ready stays high).
module skid_buffer #(
    parameter int LANES = 1,  // lanes per beat
    parameter int WIDTH = 8,  // bits per lane
    parameter int READY_COPIES = 1  // identical copies of data_in_ready
) (
    input  logic                        clk,
    input  logic                        rst,
    input  logic [LANES-1:0][WIDTH-1:0] data_in,
    input  logic                        data_in_valid,
    output logic [READY_COPIES-1:0]     data_in_ready,
    output logic [LANES-1:0][WIDTH-1:0] data_out,
    output logic                        data_out_valid,
    input  logic                        data_out_ready
);
  // Parameter checks: stop elaboration with a message naming the parameter.
  if (LANES < 1) begin : gen_bad_lanes
    $error("skid_buffer: LANES must be >= 1, got %0d", LANES);
  end
  if (WIDTH < 1) begin : gen_bad_width
    $error("skid_buffer: WIDTH must be >= 1, got %0d", WIDTH);
  end
  if (READY_COPIES < 1) begin : gen_bad_copies
    $error("skid_buffer: READY_COPIES must be >= 1, got %0d", READY_COPIES);
  end

  localparam int BITS = LANES * WIDTH;
  localparam int SLICE = 32;  // data bits per copy of the control state
  localparam int NS = (BITS + SLICE - 1) / SLICE;  // data slices, one control copy each
  localparam int NC = NS > READY_COPIES ? NS : READY_COPIES;  // copies of the control state

  logic [BITS-1:0] in_bits, out_bits, skid_bits;
  logic [NC-1:0] out_valid, skid_valid, in_ready;  // the copies of the control state
  logic [NC-1:0] out_free;  // copy c: its output register is empty or being emptied

  assign in_bits = data_in;
  assign data_out = out_bits;
  assign data_out_valid = out_valid[0];
  assign data_in_ready = in_ready[READY_COPIES-1:0];

  for (genvar c = 0; c < NC; c++) begin : gen_copy
    logic push;
    // A beat moves to the output register when it is empty or being emptied.
    assign out_free[c] = !out_valid[c] || data_out_ready;
    assign push = data_in_valid && in_ready[c];

    always_ff @(posedge clk) begin
      if (rst) begin
        out_valid[c] <= 1'b0;
        in_ready[c]  <= 1'b0;
      end else begin
        // Output register takes the skid beat first, else the incoming beat.
        if (out_free[c]) out_valid[c] <= skid_valid[c] || push;
        // Ready next cycle iff the skid register will be empty.
        in_ready[c] <= out_free[c] || !(skid_valid[c] || push);
      end
    end
    // The skid register is full after a cycle in which the output register stayed full and a beat
    // arrived (the consumer stalled) or was already waiting. One expression, so that
    // data_out_ready reaches this flip-flop through one LUT, not through out_free and then the
    // LUT of a synchronous reset (the path that held a 2,048-bit stream_join at 168 MHz).
    always_ff @(posedge clk) skid_valid[c] <= !rst && out_valid[c] && !data_out_ready && (skid_valid[c] || push);
  end

  for (genvar c = 0; c < NS; c++) begin : gen_slice
    localparam int LO = c * SLICE;
    localparam int HI = (c + 1) * SLICE < BITS ? (c + 1) * SLICE : BITS;  // one past the last bit
    always_ff @(posedge clk) begin
      if (out_free[c]) out_bits[HI-1:LO] <= skid_valid[c] ? skid_bits[HI-1:LO] : in_bits[HI-1:LO];
      // An empty skid register follows the input, so it holds the beat that arrives in a stall.
      if (!skid_valid[c]) skid_bits[HI-1:LO] <= in_bits[HI-1:LO];
    end
  end
endmodule
