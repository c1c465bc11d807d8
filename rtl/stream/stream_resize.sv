// stream_resize: changes the number of lanes per beat of a stream, keeping element order.
//
// One of IN_LANES / OUT_LANES divides the other; R is the ratio of the larger to the smaller.
//   Gather (OUT_LANES = R * IN_LANES): R input beats make one output beat; the first input beat
//     fills lanes 0 .. IN_LANES-1, the next one the lanes above, and so on.
//   Split (IN_LANES = R * OUT_LANES): one input beat leaves as R output beats; the first carries
//     its lanes 0 .. OUT_LANES-1, the next one the lanes above, and so on.
//   Same width (R = 1): a skid_buffer (a register slice).
// Element k of the stream (lane k mod LANES of beat k div LANES) is the same element on both
// sides. The output beat always leaves through a skid_buffer, so data_out comes from flip-flops
// and data_in_ready depends only on registers (never on data_out_ready in the same cycle): no
// ready path crosses the resizer, and it still never loses a cycle.
//
// Parameters:
//   IN_LANES   lanes per input beat (>= 1)
//   OUT_LANES  lanes per output beat (>= 1); IN_LANES divides OUT_LANES or OUT_LANES divides IN_LANES
//   WIDTH      bits per lane (>= 1)
//
// Latency: 1 cycle from the input beat that completes an output beat (gather) or from the input
// beat (split) to the first output beat it produces.
// Initiation interval: gather: 1 input beat per cycle (one output beat per R cycles);
// split: 1 output beat per cycle (one input beat per R cycles); R = 1: 1.
module stream_resize #(
    parameter int IN_LANES  = 2,  // lanes per input beat
    parameter int OUT_LANES = 1,  // lanes per output beat
    parameter int WIDTH     = 8   // bits per lane
) (
    input  logic                            clk,
    input  logic                            rst,
    input  logic [ IN_LANES-1:0][WIDTH-1:0] data_in,
    input  logic                            data_in_valid,
    output logic                            data_in_ready,
    output logic [OUT_LANES-1:0][WIDTH-1:0] data_out,
    output logic                            data_out_valid,
    input  logic                            data_out_ready
);
  // Parameter checks: stop elaboration with a message naming the parameter.
  if (IN_LANES < 1) begin : gen_bad_in_lanes
    $error("stream_resize: IN_LANES must be >= 1, got %0d", IN_LANES);
  end
  if (OUT_LANES < 1) begin : gen_bad_out_lanes
    $error("stream_resize: OUT_LANES must be >= 1, got %0d", OUT_LANES);
  end
  if (WIDTH < 1) begin : gen_bad_width
    $error("stream_resize: WIDTH must be >= 1, got %0d", WIDTH);
  end

  if (IN_LANES >= 1 && OUT_LANES >= 1 && OUT_LANES % IN_LANES != 0 && IN_LANES % OUT_LANES != 0)
  begin : gen_bad_ratio
    $error("stream_resize: IN_LANES (%0d) and OUT_LANES (%0d) must divide one another",
           IN_LANES, OUT_LANES);
  end else if (IN_LANES == OUT_LANES) begin : gen_same
    skid_buffer #(
        .LANES(IN_LANES),
        .WIDTH(WIDTH)
    ) u_slice (
        .clk,
        .rst,
        .data_in,
        .data_in_valid,
        .data_in_ready,
        .data_out,
        .data_out_valid,
        .data_out_ready
    );
  end else if (OUT_LANES > IN_LANES) begin : gen_gather
    localparam int R = OUT_LANES / IN_LANES;  // input beats per output beat
    localparam int CW = $clog2(R);  // bits of the piece counter 0..R-1
    localparam int HELD = OUT_LANES - IN_LANES;  // lanes of the pieces waiting for the last one

    logic [HELD-1:0][WIDTH-1:0] pieces;  // earlier pieces, newest in the high lanes
    logic [OUT_LANES-1:0][WIDTH-1:0] joined;  // the pieces with the incoming beat on top
    logic [CW-1:0] count;  // pieces held, 0..R-1
    logic last, push, out_ready;
    assign last = count == CW'(R - 1);
    assign joined = {data_in, pieces};
    // The last piece completes a beat, which goes straight into the skid_buffer.
    assign data_in_ready = !last || out_ready;
    assign push = data_in_valid && data_in_ready;

    always_ff @(posedge clk) begin
      if (rst) count <= '0;
      else if (push) count <= last ? '0 : count + 1'b1;
    end

    always_ff @(posedge clk) begin
      // Shift down so that after R-1 pieces the first one sits in lanes 0 .. IN_LANES-1.
      if (push) pieces <= joined[OUT_LANES-1:IN_LANES];
    end

    skid_buffer #(
        .LANES(OUT_LANES),
        .WIDTH(WIDTH)
    ) u_out (
        .clk,
        .rst,
        .data_in       (joined),
        .data_in_valid (data_in_valid && last),
        .data_in_ready (out_ready),
        .data_out,
        .data_out_valid,
        .data_out_ready
    );
  end else begin : gen_split
    localparam int R = IN_LANES / OUT_LANES;  // output beats per input beat
    localparam int CW = $clog2(R);  // bits of the count 0..R-1
    localparam int REST = IN_LANES - OUT_LANES;  // lanes behind the first piece

    logic [REST-1:0][WIDTH-1:0] rest;  // pieces not yet sent, next one in the low lanes
    logic [CW-1:0] left;  // pieces of the current input beat still in rest, 0..R-1
    // left == 0 as a flip-flop of its own: data_in_ready is then one gate of two flip-flops
    // (the producer's skid control takes it through one more), not a compare of the counter.
    logic idle;
    logic [OUT_LANES-1:0][WIDTH-1:0] piece;
    logic piece_valid, out_ready, push, pop;
    // The first piece of an input beat goes straight to the skid_buffer, the others from rest.
    assign piece = idle ? data_in[OUT_LANES-1:0] : rest[OUT_LANES-1:0];
    assign piece_valid = !idle || data_in_valid;
    assign data_in_ready = idle && out_ready;
    assign push = data_in_valid && data_in_ready;
    assign pop = !idle && out_ready;

    always_ff @(posedge clk) begin
      if (rst) begin
        left <= '0;
        idle <= 1'b1;
      end else if (push) begin
        left <= CW'(R - 1);
        idle <= 1'b0;  // R >= 2: pieces are left
      end else if (pop) begin
        left <= left - 1'b1;
        idle <= left == CW'(1);
      end
    end

    always_ff @(posedge clk) begin
      if (push) rest <= data_in[IN_LANES-1:OUT_LANES];
      else if (pop) rest <= rest >> (OUT_LANES * WIDTH);
    end

    skid_buffer #(
        .LANES(OUT_LANES),
        .WIDTH(WIDTH)
    ) u_out (
        .clk,
        .rst,
        .data_in       (piece),
        .data_in_valid (piece_valid),
        .data_in_ready (out_ready),
        .data_out,
        .data_out_valid,
        .data_out_ready
    );
  end
endmodule
