// fixed_relu: streaming ReLU of every lane followed by a change of fixed-point format, the RTL
// twin of golden.components.relu.
//
// Each lane becomes max(x, 0) (unsigned inputs pass unchanged) and is then converted exactly
// as fixed_cast does: round half up on dropped fraction bits, saturation to the output range.
// With OUT_SIGNED = 0 the output spends no bit on a sign, which ReLU makes redundant. The
// output is registered (fixed_cast's requantizer register and skid_buffer).
//
// Parameters:
//   LANES      lanes per beat (>= 1)
//   IN_WIDTH   bits per input lane (>= 1; >= 2 when IN_SIGNED)
//   IN_FRAC    fraction bits of the input: a lane q means q * 2**-IN_FRAC
//   IN_SIGNED  1: input lanes are two's complement, 0: unsigned
//   OUT_WIDTH  bits per output lane (>= 1; >= 2 when OUT_SIGNED)
//   OUT_FRAC   fraction bits of the output
//   OUT_SIGNED 1: output lanes are two's complement, 0: unsigned
//
// Latency: 2 cycles (fixed_cast's). Initiation interval: 1.
module fixed_relu #(
    parameter int LANES      = 1,   // lanes per beat
    parameter int IN_WIDTH   = 16,  // bits per input lane
    parameter int IN_FRAC    = 8,   // fraction bits of the input
    parameter bit IN_SIGNED  = 1,   // input lanes are two's complement
    parameter int OUT_WIDTH  = 8,   // bits per output lane
    parameter int OUT_FRAC   = 4,   // fraction bits of the output
    parameter bit OUT_SIGNED = 0    // output lanes are two's complement
) (
    input  logic                            clk,
    input  logic                            rst,
    input  logic [LANES-1:0][ IN_WIDTH-1:0] data_in,
    input  logic                            data_in_valid,
    output logic                            data_in_ready,
    output logic [LANES-1:0][OUT_WIDTH-1:0] data_out,
    output logic                            data_out_valid,
    input  logic                            data_out_ready
);
  // Parameter checks: stop elaboration with a message naming the parameter.
  if (LANES < 1) begin : gen_bad_lanes
    $error("fixed_relu: LANES must be >= 1, got %0d", LANES);
  end
  if (IN_WIDTH < (IN_SIGNED ? 2 : 1)) begin : gen_bad_in_width
    $error("fixed_relu: IN_WIDTH must be >= %0d, got %0d", IN_SIGNED ? 2 : 1, IN_WIDTH);
  end
  if (OUT_WIDTH < (OUT_SIGNED ? 2 : 1)) begin : gen_bad_out_width
    $error("fixed_relu: OUT_WIDTH must be >= %0d, got %0d", OUT_SIGNED ? 2 : 1, OUT_WIDTH);
  end

  logic [LANES-1:0][IN_WIDTH-1:0] clipped;  // max(x, 0), same format as the input

  always_comb begin
    for (int i = 0; i < LANES; i++) begin
      clipped[i] = (IN_SIGNED && data_in[i][IN_WIDTH-1]) ? '0 : data_in[i];
    end
  end

  fixed_cast #(
      .LANES     (LANES),
      .IN_WIDTH  (IN_WIDTH),
      .IN_FRAC   (IN_FRAC),
      .IN_SIGNED (IN_SIGNED),
      .OUT_WIDTH (OUT_WIDTH),
      .OUT_FRAC  (OUT_FRAC),
      .OUT_SIGNED(OUT_SIGNED)
  ) u_cast (
      .clk,
      .rst,
      .data_in(clipped),
      .data_in_valid,
      .data_in_ready,
      .data_out,
      .data_out_valid,
      .data_out_ready
  );
endmodule
