// fixed_mul: streaming element-wise product of two signed fixed-point streams (gating, attention
// parts), the RTL twin of golden.elementwise.mul.
//
// A beat of data_in_0 and a beat of data_in_1 are taken together (stream_join). In every lane the
// product is exact (A_WIDTH + B_WIDTH bits, A_FRAC + B_FRAC fraction bits; mult_pipe with input
// and output registers, 18 x 18 pieces for operands over 18 bits) and is converted once by
// fixed_requant_reg to the output format (round half up, saturation). A skid_buffer registers
// the result, so data_in_ready never depends on data_out_ready in the same cycle.
//
// Parameters:
//   LANES      lanes per beat, the same on both inputs and the output (>= 1)
//   A_WIDTH    bits per lane of data_in_0, two's complement (>= 2)
//   A_FRAC     fraction bits of data_in_0: a lane q means q * 2**-A_FRAC
//   B_WIDTH    bits per lane of data_in_1, two's complement (>= 2)
//   B_FRAC     fraction bits of data_in_1
//   OUT_WIDTH  bits per output lane (>= 1; >= 2 when OUT_SIGNED)
//   OUT_FRAC   fraction bits of the output
//   OUT_SIGNED 1: output lanes are two's complement, 0: unsigned (negative products become 0)
//
// Latency: M + 2 cycles from the cycle both inputs are taken: M = 3 + ceil(log2(LA * LB)) register
//   levels of mult_pipe (operands, partial products twice, their sums; LA = 1 if A_WIDTH <= 18
//   else 1 + ceil((A_WIDTH - 18) / 17), LB likewise; M = 3 for operands of at most 18 bits), the
//   requantizer's register, the skid_buffer.
// Initiation interval: 1.
module fixed_mul #(
    parameter int LANES      = 1,  // lanes per beat
    parameter int A_WIDTH    = 8,  // bits per lane of data_in_0
    parameter int A_FRAC     = 4,  // fraction bits of data_in_0
    parameter int B_WIDTH    = 8,  // bits per lane of data_in_1
    parameter int B_FRAC     = 4,  // fraction bits of data_in_1
    parameter int OUT_WIDTH  = 8,  // bits per output lane
    parameter int OUT_FRAC   = 4,  // fraction bits of the output
    parameter bit OUT_SIGNED = 1   // output is two's complement
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
    $error("fixed_mul: LANES must be >= 1, got %0d", LANES);
  end
  if (A_WIDTH < 2) begin : gen_bad_a_width
    $error("fixed_mul: A_WIDTH must be >= 2 (signed), got %0d", A_WIDTH);
  end
  if (B_WIDTH < 2) begin : gen_bad_b_width
    $error("fixed_mul: B_WIDTH must be >= 2 (signed), got %0d", B_WIDTH);
  end
  if (OUT_WIDTH < (OUT_SIGNED ? 2 : 1)) begin : gen_bad_out_width
    $error("fixed_mul: OUT_WIDTH must be >= %0d, got %0d", OUT_SIGNED ? 2 : 1, OUT_WIDTH);
  end

  localparam int JW = A_WIDTH > B_WIDTH ? A_WIDTH : B_WIDTH;  // operand bits inside the join
  localparam int PROD_W = A_WIDTH + B_WIDTH;  // bits of the exact product

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

  // mult_pipe's register levels (the product, plus the partial-product sums of operands over 18
  // bits), then fixed_requant_reg's; a skid_buffer after them.
  // mult_pipe's latency with input and output registers: 3 + ceil(log2(limbs of a * of b))
  localparam int LA = A_WIDTH <= 18 ? 1 : 1 + (A_WIDTH - 2) / 17;  // = 1 + ceil((A_WIDTH-18)/17)
  localparam int LB = B_WIDTH <= 18 ? 1 : 1 + (B_WIDTH - 2) / 17;
  localparam int MULT_LAT = 3 + (LA * LB > 1 ? $clog2(LA * LB) : 0);
  logic [LANES-1:0][OUT_WIDTH-1:0] result;
  logic result_valid, result_ready, advance;

  pipe_ctrl #(
      .STAGES(MULT_LAT + 1)
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
    logic signed [PROD_W-1:0] product;
    mult_pipe #(
        .A_WIDTH(A_WIDTH),
        .B_WIDTH(B_WIDTH),
        .IN_REG (1'b1),
        .OUT_REG(1'b1)
    ) u_mult (
        .clk,
        .en(advance),
        .a (joined[0][i][A_WIDTH-1:0]),
        .b (joined[1][i][B_WIDTH-1:0]),
        .p (product)
    );

    fixed_requant_reg #(
        .IN_WIDTH  (PROD_W),
        .IN_FRAC   (A_FRAC + B_FRAC),
        .IN_SIGNED (1'b1),
        .OUT_WIDTH (OUT_WIDTH),
        .OUT_FRAC  (OUT_FRAC),
        .OUT_SIGNED(OUT_SIGNED)
    ) u_requant (
        .clk,
        .en      (advance),
        .data_in (product),
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
