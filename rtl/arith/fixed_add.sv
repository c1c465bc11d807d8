// fixed_add: streaming element-wise sum of two signed fixed-point streams, the RTL twin of
// golden.components.add.
//
// A beat of data_in_0 and a beat of data_in_1 are taken together (stream_join). In every lane
// both operands are aligned exactly to F = max(A_FRAC, B_FRAC) fraction bits by a left shift,
// added at full width (no overflow possible) into a register, then converted by
// fixed_requant_reg to the output format (round half up, saturation; its register splits the
// rounding from the saturation). A skid_buffer registers the result, so data_in_ready never
// depends on data_out_ready in the same cycle.
//
// Parameters:
//   LANES      lanes per beat, the same on both inputs and the output (>= 1)
//   A_WIDTH    bits per lane of data_in_0, two's complement (>= 2)
//   A_FRAC     fraction bits of data_in_0: a lane q means q * 2**-A_FRAC
//   B_WIDTH    bits per lane of data_in_1, two's complement (>= 2)
//   B_FRAC     fraction bits of data_in_1
//   OUT_WIDTH  bits per output lane, two's complement (>= 2)
//   OUT_FRAC   fraction bits of the output
//
// Latency: 3 cycles from the cycle both inputs are taken (sum register, requantizer register,
// skid_buffer). Initiation interval: 1.
module fixed_add #(
    parameter int LANES     = 1,  // lanes per beat
    parameter int A_WIDTH   = 8,  // bits per lane of data_in_0
    parameter int A_FRAC    = 4,  // fraction bits of data_in_0
    parameter int B_WIDTH   = 8,  // bits per lane of data_in_1
    parameter int B_FRAC    = 4,  // fraction bits of data_in_1
    parameter int OUT_WIDTH = 8,  // bits per output lane
    parameter int OUT_FRAC  = 4   // fraction bits of the output
) (
    input  logic                            clk,
    input  logic                            rst,
    input  logic [LANES-1:0][  A_WIDTH-1:0] data_in_0,
    input  logic                            data_in_0_valid,
    output logic                            data_in_0_ready,
    input  logic [LANES-1:0][  B_WIDTH-1:0] data_in_1,
    input  logic                            data_in_1_valid,
    output logic                            data_in_1_ready,
    output logic [LANES-1:0][OUT_WIDTH-1:0] data_out,
    output logic                            data_out_valid,
    input  logic                            data_out_ready
);
  // Parameter checks: stop elaboration with a message naming the parameter.
  if (LANES < 1) begin : gen_bad_lanes
    $error("fixed_add: LANES must be >= 1, got %0d", LANES);
  end
  if (A_WIDTH < 2) begin : gen_bad_a_width
    $error("fixed_add: A_WIDTH must be >= 2 (signed), got %0d", A_WIDTH);
  end
  if (B_WIDTH < 2) begin : gen_bad_b_width
    $error("fixed_add: B_WIDTH must be >= 2 (signed), got %0d", B_WIDTH);
  end
  if (OUT_WIDTH < 2) begin : gen_bad_out_width
    $error("fixed_add: OUT_WIDTH must be >= 2 (signed), got %0d", OUT_WIDTH);
  end

  localparam int JW = A_WIDTH > B_WIDTH ? A_WIDTH : B_WIDTH;  // operand bits inside the join
  localparam int F = A_FRAC > B_FRAC ? A_FRAC : B_FRAC;  // fraction bits of the sum
  localparam int SA = F - A_FRAC;  // left shift aligning operand a
  localparam int SB = F - B_FRAC;  // left shift aligning operand b
  localparam int AW = A_WIDTH + SA;  // bits of aligned a
  localparam int BW = B_WIDTH + SB;  // bits of aligned b
  localparam int SUM_W = (AW > BW ? AW : BW) + 1;  // bits of the exact sum

  logic [1:0][LANES-1:0][JW-1:0] operands, joined;
  logic joined_valid, joined_ready;

  always_comb begin
    for (int i = 0; i < LANES; i++) begin
      operands[0][i] = JW'(signed'(data_in_0[i]));
      operands[1][i] = JW'(signed'(data_in_1[i]));
    end
  end

  stream_join #(
      .LANES(LANES),
      .WIDTH  (JW),
      .N      (2),
      .OUT_REG(1'b0)
  ) u_join (
      .clk,
      .rst,
      .data_in       (operands),
      .data_in_valid ({data_in_1_valid, data_in_0_valid}),
      .data_in_ready ({data_in_1_ready, data_in_0_ready}),
      .data_out      (joined),
      .data_out_valid(joined_valid),
      .data_out_ready(joined_ready)
  );

  // Two register levels: the exact sums, then fixed_requant_reg's; a skid_buffer after them.
  logic [LANES-1:0][OUT_WIDTH-1:0] result;
  logic result_valid, result_ready, advance;

  pipe_ctrl #(
      .STAGES(2)
  ) u_ctrl (
      .clk,
      .rst,
      .in_valid (joined_valid),
      .in_ready (joined_ready),
      .out_valid(result_valid),
      .out_ready(result_ready),
      .advance
  );

  for (genvar i = 0; i < LANES; i++) begin : gen_lane
    logic signed [SUM_W-1:0] a_aligned, b_aligned, sum;
    assign a_aligned = SUM_W'(signed'(joined[0][i][A_WIDTH-1:0])) <<< SA;
    assign b_aligned = SUM_W'(signed'(joined[1][i][B_WIDTH-1:0])) <<< SB;
    always_ff @(posedge clk) begin
      if (advance) sum <= a_aligned + b_aligned;
    end

    fixed_requant_reg #(
        .IN_WIDTH  (SUM_W),
        .IN_FRAC   (F),
        .IN_SIGNED (1'b1),
        .OUT_WIDTH (OUT_WIDTH),
        .OUT_FRAC  (OUT_FRAC),
        .OUT_SIGNED(1'b1)
    ) u_requant (
        .clk,
        .en      (advance),
        .data_in (sum),
        .data_out(result[i])
    );
  end

  skid_buffer #(
      .LANES(LANES),
      .WIDTH(OUT_WIDTH)
  ) u_out (
      .clk,
      .rst,
      .data_in       (result),
      .data_in_valid (result_valid),
      .data_in_ready (result_ready),
      .data_out,
      .data_out_valid,
      .data_out_ready
  );
endmodule
