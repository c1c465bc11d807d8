// fixed_requant: combinational change of fixed-point format, the RTL twin of
// golden.fixed.requantize.
//
// The input means q * 2**-IN_FRAC. Fraction bits are dropped with round half up,
// (q + 2**(s-1)) >>> s with s = IN_FRAC - OUT_FRAC, or appended as zeros when s < 0; the
// result then saturates to the output range. Nothing ever wraps.
//
// Parameters:
//   IN_WIDTH   bits of the input (>= 1; >= 2 when signed)
//   IN_FRAC    fraction bits of the input
//   IN_SIGNED  1: input is two's complement, 0: unsigned
//   OUT_WIDTH  bits of the output (>= 1; >= 2 when signed)
//   OUT_FRAC   fraction bits of the output
//   OUT_SIGNED 1: output is two's complement, 0: unsigned (negative values saturate to 0)
//
// Latency: 0 cycles (combinational). Initiation interval: 1.
module fixed_requant #(
    parameter int IN_WIDTH   = 16,  // bits of the input
    parameter int IN_FRAC    = 8,   // fraction bits of the input
    parameter bit IN_SIGNED  = 1,   // input is two's complement
    parameter int OUT_WIDTH  = 8,   // bits of the output
    parameter int OUT_FRAC   = 4,   // fraction bits of the output
    parameter bit OUT_SIGNED = 1    // output is two's complement
) (
    input  logic [ IN_WIDTH-1:0] data_in,
    output logic [OUT_WIDTH-1:0] data_out
);
  localparam int SHIFT = IN_FRAC - OUT_FRAC;  // fraction bits dropped (< 0: appended)
  localparam int LSHIFT = SHIFT < 0 ? -SHIFT : 0;
  localparam int RSHIFT = SHIFT > 0 ? SHIFT : 0;
  localparam int MAXW = IN_WIDTH > OUT_WIDTH ? (IN_WIDTH > RSHIFT ? IN_WIDTH : RSHIFT)
                                            : (OUT_WIDTH > RSHIFT ? OUT_WIDTH : RSHIFT);
  // Wide enough for the shifted input, the rounding constant and both output limits.
  localparam int WIDE = MAXW + LSHIFT + 2;

  if (IN_WIDTH < (IN_SIGNED ? 2 : 1)) begin : gen_bad_in_width
    $error("fixed_requant: IN_WIDTH must be >= %0d, got %0d", IN_SIGNED ? 2 : 1, IN_WIDTH);
  end
  if (OUT_WIDTH < (OUT_SIGNED ? 2 : 1)) begin : gen_bad_out_width
    $error("fixed_requant: OUT_WIDTH must be >= %0d, got %0d", OUT_SIGNED ? 2 : 1, OUT_WIDTH);
  end
  if (WIDE > 128) begin : gen_too_wide
    $error("fixed_requant: IN_FRAC - OUT_FRAC = %0d needs %0d-bit arithmetic (max 128)", SHIFT, WIDE);
  end

  localparam logic signed [WIDE-1:0] OUT_MAX = OUT_SIGNED
      ? (WIDE'(1) <<< (OUT_WIDTH - 1)) - WIDE'(1) : (WIDE'(1) <<< OUT_WIDTH) - WIDE'(1);
  localparam logic signed [WIDE-1:0] OUT_MIN = OUT_SIGNED ? -(WIDE'(1) <<< (OUT_WIDTH - 1)) : '0;
  localparam logic signed [WIDE-1:0] HALF = RSHIFT > 0 ? (WIDE'(1) <<< (RSHIFT - 1)) : '0;

  logic signed [WIDE-1:0] extended, rounded;

  always_comb begin
    if (IN_SIGNED) extended = WIDE'(signed'(data_in));
    else extended = WIDE'($unsigned(data_in));
    rounded = ((extended <<< LSHIFT) + HALF) >>> RSHIFT;
    if (rounded > OUT_MAX) data_out = OUT_MAX[OUT_WIDTH-1:0];
    else if (rounded < OUT_MIN) data_out = OUT_MIN[OUT_WIDTH-1:0];
    else data_out = rounded[OUT_WIDTH-1:0];
  end
endmodule
