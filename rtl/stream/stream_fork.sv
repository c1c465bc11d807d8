// stream_fork: copies one ready/valid stream to N consumers; every consumer takes every beat
// exactly once, each in its own time.
//
// All consumers see the same data_out (the input beat, passed through). Consumer i sees
// data_out_valid[i] until it has taken the current beat; a per-consumer "taken" bit remembers
// who already has it, and the input beat is released (data_in_ready) in the cycle where every
// consumer has taken it or is taking it. data_out_valid depends only on data_in_valid and the
// taken bits, never on any data_out_ready (valid never waits for ready).
//
// Parameters:
//   LANES  lanes per beat (>= 1)
//   WIDTH  bits per lane (>= 1)
//   N      number of consumers (>= 1)
//
// Latency: 0 cycles (combinational from data_in to data_out).
// Initiation interval: 1 (one beat per cycle while every consumer is ready).
module stream_fork #(
    parameter int LANES = 1,  // lanes per beat
    parameter int WIDTH = 8,  // bits per lane
    parameter int N     = 2   // number of consumers
) (
    input  logic                        clk,
    input  logic                        rst,
    input  logic [LANES-1:0][WIDTH-1:0] data_in,
    input  logic                        data_in_valid,
    output logic                        data_in_ready,
    output logic [LANES-1:0][WIDTH-1:0] data_out,
    output logic [        N-1:0]        data_out_valid,
    input  logic [        N-1:0]        data_out_ready
);
  // Parameter checks: stop elaboration with a message naming the parameter.
  if (LANES < 1) begin : gen_bad_lanes
    $error("stream_fork: LANES must be >= 1, got %0d", LANES);
  end
  if (WIDTH < 1) begin : gen_bad_width
    $error("stream_fork: WIDTH must be >= 1, got %0d", WIDTH);
  end
  if (N < 1) begin : gen_bad_n
    $error("stream_fork: N must be >= 1, got %0d", N);
  end

  logic [N-1:0] taken;  // consumer i already took the current input beat

  assign data_out = data_in;
  assign data_out_valid = data_in_valid ? ~taken : '0;
  assign data_in_ready = &(taken | data_out_ready);

  always_ff @(posedge clk) begin
    if (rst || (data_in_valid && data_in_ready)) taken <= '0;
    else taken <= taken | (data_out_valid & data_out_ready);
  end
endmodule
