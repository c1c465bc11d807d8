// stream_join: merges N ready/valid streams into one whose beat holds one beat of each.
//
// data_out is the N input beats side by side (input 0 in the low bits) and is valid when every
// input is valid; all inputs are consumed together, in the cycle the output beat is taken.
// data_out_valid depends only on the input valids, never on data_out_ready (valid never waits
// for ready); each data_in_ready is high only in the cycle of the joint transfer.
//
// Parameters:
//   LANES  lanes per beat of each input (>= 1)
//   WIDTH  bits per lane (>= 1)
//   N      number of inputs (>= 1)
//
// Latency: 0 cycles (combinational). Initiation interval: 1.
module stream_join #(
    parameter int LANES = 1,  // lanes per beat of each input
    parameter int WIDTH = 8,  // bits per lane
    parameter int N     = 2   // number of inputs
) (
    input  logic                                 clk,
    input  logic                                 rst,
    input  logic [    N-1:0][LANES-1:0][WIDTH-1:0] data_in,
    input  logic [    N-1:0]                       data_in_valid,
    output logic [    N-1:0]                       data_in_ready,
    output logic [    N-1:0][LANES-1:0][WIDTH-1:0] data_out,
    output logic                                 data_out_valid,
    input  logic                                 data_out_ready
);
  // Parameter checks: stop elaboration with a message naming the parameter.
  if (LANES < 1) begin : gen_bad_lanes
    $error("stream_join: LANES must be >= 1, got %0d", LANES);
  end
  if (WIDTH < 1) begin : gen_bad_width
    $error("stream_join: WIDTH must be >= 1, got %0d", WIDTH);
  end
  if (N < 1) begin : gen_bad_n
    $error("stream_join: N must be >= 1, got %0d", N);
  end

  assign data_out = data_in;
  assign data_out_valid = &data_in_valid;
  assign data_in_ready = {N{data_out_valid && data_out_ready}};

  // The join is combinational; clk and rst are there for the uniform stream interface.
  logic unused_clk_rst;
  assign unused_clk_rst = clk ^ rst;
endmodule
