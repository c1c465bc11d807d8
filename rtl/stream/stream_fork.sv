// stream_fork: copies one ready/valid stream to N consumers; every consumer takes every beat
// exactly once, each in its own time.
//
// The input goes through a skid_buffer (IN_REG = 1, the default), so data_in_ready is a
// flip-flop and no ready path crosses the fork. All consumers see the same data_out (the
// buffered beat). Consumer i sees data_out_valid[i] until it has taken the current beat; a
// per-consumer "taken" bit remembers who already has it, and the beat is released in the cycle
// where every consumer has taken it or is taking it. data_out_valid depends only on the buffered
// valid and the taken bits, never on any data_out_ready (valid never waits for ready). With
// IN_REG = 0 the fork is combinational from data_in (for use inside a block whose own ready is
// registered).
//
// Parameters:
//   LANES  lanes per beat (>= 1)
//   WIDTH  bits per lane (>= 1)
//   N      number of consumers (>= 1)
//   IN_REG 1: a skid_buffer on the input; 0: combinational
//
// Latency: IN_REG cycles (1 by default; 0: combinational from data_in to data_out).
// Initiation interval: 1 (one beat per cycle while every consumer is ready).
module stream_fork #(
    parameter int LANES = 1,  // lanes per beat
    parameter int WIDTH = 8,  // bits per lane
    parameter int N     = 2,  // number of consumers
    parameter bit IN_REG = 1    // skid_buffer on the input (0: combinational)
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

  logic [LANES-1:0][WIDTH-1:0] beat;  // the beat offered to the consumers
  logic beat_valid, beat_ready;

  if (IN_REG) begin : gen_in_reg
    skid_buffer #(
        .LANES(LANES),
        .WIDTH(WIDTH)
    ) u_in (
        .clk,
        .rst,
        .data_in,
        .data_in_valid,
        .data_in_ready,
        .data_out      (beat),
        .data_out_valid(beat_valid),
        .data_out_ready(beat_ready)
    );
  end else begin : gen_comb
    assign beat = data_in;
    assign beat_valid = data_in_valid;
    assign data_in_ready = beat_ready;
  end

  logic [N-1:0] taken;  // consumer i already took the current beat

  assign data_out = beat;
  assign data_out_valid = beat_valid ? ~taken : '0;
  assign beat_ready = &(taken | data_out_ready);

  always_ff @(posedge clk) begin
    if (rst || (beat_valid && beat_ready)) taken <= '0;
    else taken <= taken | (data_out_valid & data_out_ready);
  end
endmodule
