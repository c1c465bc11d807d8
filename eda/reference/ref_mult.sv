// ref_mult: the multiplier reference of the ECP5 timing flow (eda/pnr.py): a lone registered
// WIDTH x WIDTH signed multiply, register -> * -> register. synth_ecp5 maps the product to one
// MULT18X18D and leaves its own input and output registers unused, so the path is the bare
// multiplier between two fabric flip-flops: the ceiling of any design with a multiplier that
// does not use the DSP's pipeline registers.
//
// Parameters:
//   WIDTH  bits of each operand (1 .. 18: one MULT18X18D)
//
// Latency: 2 cycles (operand registers, product register). Initiation interval: 1.
module ref_mult #(
    parameter int WIDTH = 8  // bits of each operand
) (
    input  logic                        clk,
    input  logic signed [  WIDTH-1:0]   a,
    input  logic signed [  WIDTH-1:0]   b,
    output logic signed [2*WIDTH-1:0]   p
);
  if (WIDTH < 1 || WIDTH > 18) begin : gen_bad_width
    $error("ref_mult: WIDTH must be in 1..18, got %0d", WIDTH);
  end

  logic signed [WIDTH-1:0] a_q, b_q;

  always_ff @(posedge clk) begin
    a_q <= a;
    b_q <= b;
    p   <= a_q * b_q;
  end
endmodule
