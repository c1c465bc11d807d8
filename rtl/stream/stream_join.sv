// stream_join: merges N ready/valid streams into one whose beat holds one beat of each.
//
// data_out is the N input beats side by side (input 0 in the low bits) and is valid when every
// input is valid; all inputs are consumed together, in the cycle the joint beat is taken.
// With OUT_REG = 1 (the default) the joint beat goes through a skid_buffer: data_out comes from
// flip-flops and each data_in_ready is "every input valid and the buffer's (registered) ready",
// so no ready path crosses the join. With OUT_REG = 0 the join is combinational (for use inside a
// block whose own ready is registered): data_out_valid depends only on the input valids, never
// on data_out_ready, and each data_in_ready is high only in the cycle of the joint transfer.
//
// Parameters:
//   LANES  lanes per beat of each input (>= 1)
//   WIDTH  bits per lane (>= 1)
//   N      number of inputs (>= 1)
//   OUT_REG 1: a skid_buffer on the output; 0: combinational
//
// Latency: OUT_REG cycles (1 by default; 0: combinational). Initiation interval: 1.
module stream_join #(
    parameter int LANES = 1,  // lanes per beat of each input
    parameter int WIDTH = 8,  // bits per lane
    parameter int N     = 2,  // number of inputs
    parameter bit OUT_REG = 1   // skid_buffer on the output (0: combinational)
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

  logic joint_valid, joint_ready;
  assign joint_valid = &data_in_valid;
  assign data_in_ready = {N{joint_valid && joint_ready}};

  if (OUT_REG) begin : gen_out_reg
    skid_buffer #(
        .LANES(N * LANES),
        .WIDTH(WIDTH)
    ) u_out (
        .clk,
        .rst,
        .data_in       (data_in),
        .data_in_valid (joint_valid),
        .data_in_ready (joint_ready),
        .data_out,
        .data_out_valid,
        .data_out_ready
    );
  end else begin : gen_comb
    assign data_out = data_in;
    assign data_out_valid = joint_valid;
    assign joint_ready = data_out_ready;
    // The combinational join has no state; clk and rst are there for the uniform interface.
    logic unused_clk_rst;
    assign unused_clk_rst = clk ^ rst;
  end
endmodule
