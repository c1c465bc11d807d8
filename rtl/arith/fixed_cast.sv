// fixed_cast: streaming change of fixed-point format of every lane, the RTL twin of
// golden.components.cast.
//
// Each lane goes through fixed_requant_reg (round half up on dropped fraction bits, zeros
// appended when OUT_FRAC > IN_FRAC, then saturation to the output range; nothing wraps), whose
// register splits the rounding from the saturation; a skid_buffer registers the result, so
// data_out, data_out_valid and data_in_ready all come from flip-flops (data_in_ready never
// depends on data_out_ready in the same cycle).
//
// Parameters:
//   LANES      lanes per beat (>= 1)
//   IN_WIDTH   bits per input lane (>= 1; >= 2 when IN_SIGNED)
//   IN_FRAC    fraction bits of the input: a lane q means q * 2**-IN_FRAC
//   IN_SIGNED  1: input lanes are two's complement, 0: unsigned
//   OUT_WIDTH  bits per output lane (>= 1; >= 2 when OUT_SIGNED)
//   OUT_FRAC   fraction bits of the output
//   OUT_SIGNED 1: output lanes are two's complement, 0: unsigned (negative values become 0)
//
// Latency: 2 cycles (the requantizer's register, then the skid_buffer). Initiation interval: 1.
module fixed_cast #(
    parameter int LANES      = 1,   // lanes per beat
    parameter int IN_WIDTH   = 16,  // bits per input lane
    parameter int IN_FRAC    = 8,   // fraction bits of the input
    parameter bit IN_SIGNED  = 1,   // input lanes are two's complement
    parameter int OUT_WIDTH  = 8,   // bits per output lane
    parameter int OUT_FRAC   = 4,   // fraction bits of the output
    parameter bit OUT_SIGNED = 1    // output lanes are two's complement
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
    $error("fixed_cast: LANES must be >= 1, got %0d", LANES);
  end
  if (IN_WIDTH < (IN_SIGNED ? 2 : 1)) begin : gen_bad_in_width
    $error("fixed_cast: IN_WIDTH must be >= %0d, got %0d", IN_SIGNED ? 2 : 1, IN_WIDTH);
  end
  if (OUT_WIDTH < (OUT_SIGNED ? 2 : 1)) begin : gen_bad_out_width
    $error("fixed_cast: OUT_WIDTH must be >= %0d, got %0d", OUT_SIGNED ? 2 : 1, OUT_WIDTH);
  end

  logic [LANES-1:0][OUT_WIDTH-1:0] cast;
  logic cast_valid, cast_ready, advance;

  // One register level (inside fixed_requant_reg) between the input and the skid_buffer.
  pipe_ctrl #(
      .STAGES(1)
  ) u_ctrl (
      .clk,
      .rst,
      .in_valid (data_in_valid),
      .in_ready (data_in_ready),
      .out_valid(cast_valid),
      .out_ready(cast_ready),
      .advance
  );

  for (genvar i = 0; i < LANES; i++) begin : gen_lane
    fixed_requant_reg #(
        .IN_WIDTH  (IN_WIDTH),
        .IN_FRAC   (IN_FRAC),
        .IN_SIGNED (IN_SIGNED),
        .OUT_WIDTH (OUT_WIDTH),
        .OUT_FRAC  (OUT_FRAC),
        .OUT_SIGNED(OUT_SIGNED)
    ) u_requant (
        .clk,
        .en      (advance),
        .data_in (data_in[i]),
        .data_out(cast[i])
    );
  end

  skid_buffer #(
      .LANES(LANES),
      .WIDTH(OUT_WIDTH)
  ) u_out (
      .clk,
      .rst,
      .data_in       (cast),
      .data_in_valid (cast_valid),
      .data_in_ready (cast_ready),
      .data_out,
      .data_out_valid,
      .data_out_ready
  );
endmodule
