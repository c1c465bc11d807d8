// fixed_requant_reg: fixed_requant with a register inside, the requantizer of pipelined
// components.
//
// Same function as fixed_requant (round half up on dropped fraction bits, zeros appended when
// OUT_FRAC > IN_FRAC, saturation; bit-exact with golden.fixed.requantize), split so that the wide
// work comes before the register and one LUT level after it: the register holds the low OUT_WIDTH
// bits of the rounded value and two flags, "above the output range" and "below it", which are
// compares of the input with constants (s + HALF >= (MAX+1) * 2**R  <=>  s >= (MAX+1) * 2**R - HALF)
// computed next to the rounding adder instead of after it. data_out picks MAX, MIN or the low bits.
//
// Parameters:
//   IN_WIDTH, IN_FRAC, IN_SIGNED, OUT_WIDTH, OUT_FRAC, OUT_SIGNED   as fixed_requant
//
// Latency: 1 cycle (data_in is sampled when en is high; data_out follows the register).
// Initiation interval: 1.
module fixed_requant_reg #(
    parameter int IN_WIDTH   = 16,  // bits of the input
    parameter int IN_FRAC    = 8,   // fraction bits of the input
    parameter bit IN_SIGNED  = 1,   // input is two's complement
    parameter int OUT_WIDTH  = 8,   // bits of the output
    parameter int OUT_FRAC   = 4,   // fraction bits of the output
    parameter bit OUT_SIGNED = 1    // output is two's complement
) (
    input  logic                 clk,
    input  logic                 en,
    input  logic [ IN_WIDTH-1:0] data_in,
    output logic [OUT_WIDTH-1:0] data_out
);
  localparam int SHIFT = IN_FRAC - OUT_FRAC;  // fraction bits dropped (< 0: appended)
  localparam int LSHIFT = SHIFT < 0 ? -SHIFT : 0;
  localparam int RSHIFT = SHIFT > 0 ? SHIFT : 0;
  localparam int SW = IN_WIDTH + LSHIFT + 1;  // the input, shifted left, as a signed number
  // Wide enough for the input, the shifted output limits and the rounding constant.
  localparam int TW = (SW > OUT_WIDTH + 1 ? SW : OUT_WIDTH + 1) + RSHIFT + 2;

  if (IN_WIDTH < (IN_SIGNED ? 2 : 1)) begin : gen_bad_in_width
    $error("fixed_requant_reg: IN_WIDTH must be >= %0d, got %0d", IN_SIGNED ? 2 : 1, IN_WIDTH);
  end
  if (OUT_WIDTH < (OUT_SIGNED ? 2 : 1)) begin : gen_bad_out_width
    $error("fixed_requant_reg: OUT_WIDTH must be >= %0d, got %0d", OUT_SIGNED ? 2 : 1, OUT_WIDTH);
  end
  if (TW > 160) begin : gen_too_wide
    $error("fixed_requant_reg: IN_FRAC - OUT_FRAC = %0d needs %0d-bit arithmetic (max 160)", SHIFT, TW);
  end

  localparam logic signed [TW-1:0] OUT_MAX = OUT_SIGNED
      ? (TW'(1) <<< (OUT_WIDTH - 1)) - TW'(1) : (TW'(1) <<< OUT_WIDTH) - TW'(1);
  localparam logic signed [TW-1:0] OUT_MIN = OUT_SIGNED ? -(TW'(1) <<< (OUT_WIDTH - 1)) : '0;
  localparam logic signed [TW-1:0] HALF = RSHIFT > 0 ? (TW'(1) <<< (RSHIFT - 1)) : '0;
  // s >= HI: the rounded value is above OUT_MAX; s < LO: below OUT_MIN.
  localparam logic signed [TW-1:0] HI = ((OUT_MAX + TW'(1)) <<< RSHIFT) - HALF;
  localparam logic signed [TW-1:0] LO = (OUT_MIN <<< RSHIFT) - HALF;

  logic signed [SW-1:0] shifted;  // the input with LSHIFT zeros appended
  logic signed [TW-1:0] wide;
  logic [OUT_WIDTH-1:0] rounded;  // the low bits of the rounded value
  logic over, under;

  always_comb begin
    if (IN_SIGNED) shifted = SW'(signed'(data_in)) <<< LSHIFT;
    else shifted = SW'($unsigned(data_in)) <<< LSHIFT;
    wide = TW'(shifted);
    rounded = OUT_WIDTH'((wide + HALF) >>> RSHIFT);
    over = wide >= HI;
    under = wide < LO;
  end

  logic [OUT_WIDTH-1:0] low_q;
  logic over_q, under_q;

  always_ff @(posedge clk) begin
    if (en) begin
      low_q   <= rounded;
      over_q  <= over;
      under_q <= under;
    end
  end

  assign data_out = over_q ? OUT_MAX[OUT_WIDTH-1:0] : under_q ? OUT_MIN[OUT_WIDTH-1:0] : low_q;
endmodule
