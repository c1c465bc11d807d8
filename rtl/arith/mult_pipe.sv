// mult_pipe: pipelined exact product of two signed numbers, built from 18 x 18 multipliers.
//
// An operand wider than 18 bits is split into 17-bit unsigned limbs and a signed top limb of at
// most 18 bits, so every partial product is one 18 x 18 signed multiply (one ECP5 MULT18X18D, one
// Xilinx DSP48E1). The partial products are registered, then summed, shifted into place, by an
// add_tree (one register level per adder level). Optionally the operands are registered first
// (the multiplier's input registers). Every register level is enabled by en.
//
// Parameters:
//   A_WIDTH  bits of a, two's complement (>= 2)
//   B_WIDTH  bits of b, two's complement (>= 2)
//   IN_REG   1: register a and b before multiplying
//   OUT_REG  1: register the partial products twice (the first register then only feeds the
//            second, so placement keeps it next to the multiplier)
//
// Latency: IN_REG + 1 + OUT_REG + ceil(log2(LA * LB)) cycles, LA = 1 if A_WIDTH <= 18 else
//   1 + ceil((A_WIDTH - 18) / 17) limbs (LB likewise): IN_REG + 1 + OUT_REG for operands of at
//   most 18 bits.
// Initiation interval: 1.
module mult_pipe #(
    parameter int A_WIDTH = 8,  // bits of a (signed)
    parameter int B_WIDTH = 8,  // bits of b (signed)
    parameter bit IN_REG  = 1,  // register the operands first
    parameter bit OUT_REG = 0   // register the partial products a second time
) (
    input  logic                                clk,
    input  logic                                en,
    input  logic signed [        A_WIDTH-1:0]   a,
    input  logic signed [        B_WIDTH-1:0]   b,
    output logic signed [A_WIDTH+B_WIDTH-1:0]   p
);
  localparam int LIMB = 17;  // bits of an unsigned low limb
  localparam int LA = A_WIDTH <= 18 ? 1 : 1 + (A_WIDTH - 2) / LIMB;  // limbs of a
  localparam int LB = B_WIDTH <= 18 ? 1 : 1 + (B_WIDTH - 2) / LIMB;  // limbs of b
  localparam int PW = A_WIDTH + B_WIDTH;  // bits of the product
  localparam int NP = LA * LB;  // partial products
  localparam int PPW = PW < 36 ? PW : 36;  // bits of a partial product worth keeping

  if (A_WIDTH < 2 || B_WIDTH < 2) begin : gen_bad_width
    $error("mult_pipe: A_WIDTH=%0d and B_WIDTH=%0d must be >= 2", A_WIDTH, B_WIDTH);
  end

  // Limb i of a: bits [17i +: 17] zero-extended, the top limb (the rest) sign-extended; likewise
  // b. Partial products, registered, each shifted to its place in the full-width product. With
  // IN_REG every multiplier has its own copy of its operand limbs' registers (kept apart, and
  // holding only the limbs' own bits), so placement can put each copy next to its multiplier.
  logic [NP-1:0][PW-1:0] partial;
  for (genvar i = 0; i < LA; i++) begin : gen_pa
    localparam int AW = i < LA - 1 ? LIMB : A_WIDTH - i * LIMB;  // bits of limb i of a
    for (genvar j = 0; j < LB; j++) begin : gen_pb
      localparam int BW = j < LB - 1 ? LIMB : B_WIDTH - j * LIMB;  // bits of limb j of b
      logic [AW-1:0] a_bits;
      logic [BW-1:0] b_bits;
      logic signed [17:0] a_in, b_in;  // the multiplier's operands
      logic signed [PPW-1:0] pp, pp_out;
      if (IN_REG) begin : gen_in_reg
        logic [AW-1:0] a_own;
        logic [BW-1:0] b_own;
        // keep on the process: synthesis must not merge the copies of equal operands
        (* keep *) always_ff @(posedge clk) begin
          if (en) begin
            a_own <= a[i*LIMB+:AW];
            b_own <= b[j*LIMB+:BW];
          end
        end
        assign a_bits = a_own;
        assign b_bits = b_own;
      end else begin : gen_no_in_reg
        assign a_bits = a[i*LIMB+:AW];
        assign b_bits = b[j*LIMB+:BW];
      end
      assign a_in = i < LA - 1 ? 18'($unsigned(a_bits)) : 18'(signed'(a_bits));
      assign b_in = j < LB - 1 ? 18'($unsigned(b_bits)) : 18'(signed'(b_bits));
      always_ff @(posedge clk) begin
        if (en) pp <= PPW'(a_in * b_in);
      end
      if (OUT_REG) begin : gen_out_reg
        always_ff @(posedge clk) begin
          if (en) pp_out <= pp;
        end
      end else begin : gen_no_out_reg
        assign pp_out = pp;
      end
      assign partial[i*LB+j] = PW'(PW'(pp_out) <<< (LIMB * (i + j)));
    end
  end

  if (NP == 1) begin : gen_single
    assign p = partial[0];
  end else begin : gen_sum
    logic signed [PW+$clog2(NP)-1:0] sum;
    add_tree #(
        .N        (NP),
        .IN_WIDTH (PW),
        .OUT_WIDTH(PW + $clog2(NP))
    ) u_sum (
        .clk,
        .en,
        .data_in (partial),
        .data_out(sum)
    );
    assign p = sum[PW-1:0];  // the exact product fits PW bits
    logic unused_top;  // the sum's top bits only repeat the sign
    assign unused_top = ^sum[PW+$clog2(NP)-1:PW];
  end
endmodule
