// mult_pipe: pipelined exact product of two signed numbers, built from 18 x 18 multipliers.
//
// An operand wider than 18 bits is split into 17-bit unsigned limbs and a signed top limb of at
// most 18 bits, so every partial product is one 18 x 18 signed multiply (one ECP5 MULT18X18D, one
// Xilinx DSP48E1). The partial products are registered, then summed, shifted into place, by an
// add_tree (one register level per adder level). Optionally the operands are registered first
// (the multiplier's input registers). Every register level is enabled by en.
//
// ECP5: with `CHOP_ECP5_DSP defined (eda/pnr.py defines it for synth_ecp5, nothing else does) and
// IN_REG = 1, each partial product is a MULT18X18D instance whose own input registers
// (REG_INPUTA_CLK / REG_INPUTB_CLK) hold the operand limbs and whose output register
// (REG_OUTPUT_CLK) is the product register, all on CLK0 = clk with CE0 = en: the same registers,
// cycles and enable as the generic code, without the fabric-to-DSP routes (Yosys does not pack
// registers into MULT18X18D). Every partial product is an 18 x 18 multiply either way: Yosys maps
// even a 2 x 2 product onto a MULT18X18D, so narrow products use the same cells.
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
`ifdef CHOP_ECP5_DSP
  localparam bit DSP_REGS = IN_REG;  // the MULT18X18D holds the operand and product registers
`else
  localparam bit DSP_REGS = 1'b0;  // generic code: registers in fabric, Yosys maps the multiply
`endif

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
      logic signed [PPW-1:0] pp, pp_out;
      if (DSP_REGS) begin : gen_dsp
`ifdef CHOP_ECP5_DSP
        // limb of a -> A input register, limb of b -> B input register, product -> output register
        logic [17:0] a_d, b_d;
        logic [35:0] p_d;
        assign a_d = i < LA - 1 ? 18'($unsigned(a[i*LIMB+:AW])) : 18'(signed'(a[i*LIMB+:AW]));
        assign b_d = j < LB - 1 ? 18'($unsigned(b[j*LIMB+:BW])) : 18'(signed'(b[j*LIMB+:BW]));
        MULT18X18D #(
            .REG_INPUTA_CLK("CLK0"),
            .REG_INPUTA_CE ("CE0"),
            .REG_INPUTB_CLK("CLK0"),
            .REG_INPUTB_CE ("CE0"),
            .REG_OUTPUT_CLK("CLK0"),
            .REG_OUTPUT_CE ("CE0")
        ) u_dsp (
            .A0 (a_d[0]), .A1 (a_d[1]), .A2 (a_d[2]), .A3 (a_d[3]), .A4 (a_d[4]), .A5 (a_d[5]),
            .A6 (a_d[6]), .A7 (a_d[7]), .A8 (a_d[8]), .A9 (a_d[9]), .A10(a_d[10]), .A11(a_d[11]),
            .A12(a_d[12]), .A13(a_d[13]), .A14(a_d[14]), .A15(a_d[15]), .A16(a_d[16]),
            .A17(a_d[17]),
            .B0 (b_d[0]), .B1 (b_d[1]), .B2 (b_d[2]), .B3 (b_d[3]), .B4 (b_d[4]), .B5 (b_d[5]),
            .B6 (b_d[6]), .B7 (b_d[7]), .B8 (b_d[8]), .B9 (b_d[9]), .B10(b_d[10]), .B11(b_d[11]),
            .B12(b_d[12]), .B13(b_d[13]), .B14(b_d[14]), .B15(b_d[15]), .B16(b_d[16]),
            .B17(b_d[17]),
            .C0 (1'b0), .C1 (1'b0), .C2 (1'b0), .C3 (1'b0), .C4 (1'b0), .C5 (1'b0), .C6 (1'b0),
            .C7 (1'b0), .C8 (1'b0), .C9 (1'b0), .C10(1'b0), .C11(1'b0), .C12(1'b0), .C13(1'b0),
            .C14(1'b0), .C15(1'b0), .C16(1'b0), .C17(1'b0),
            .SIGNEDA(1'b1), .SIGNEDB(1'b1), .SOURCEA(1'b0), .SOURCEB(1'b0),
            .CLK0(clk), .CE0(en), .RST0(1'b0),
            .P0 (p_d[0]), .P1 (p_d[1]), .P2 (p_d[2]), .P3 (p_d[3]), .P4 (p_d[4]), .P5 (p_d[5]),
            .P6 (p_d[6]), .P7 (p_d[7]), .P8 (p_d[8]), .P9 (p_d[9]), .P10(p_d[10]), .P11(p_d[11]),
            .P12(p_d[12]), .P13(p_d[13]), .P14(p_d[14]), .P15(p_d[15]), .P16(p_d[16]),
            .P17(p_d[17]), .P18(p_d[18]), .P19(p_d[19]), .P20(p_d[20]), .P21(p_d[21]),
            .P22(p_d[22]), .P23(p_d[23]), .P24(p_d[24]), .P25(p_d[25]), .P26(p_d[26]),
            .P27(p_d[27]), .P28(p_d[28]), .P29(p_d[29]), .P30(p_d[30]), .P31(p_d[31]),
            .P32(p_d[32]), .P33(p_d[33]), .P34(p_d[34]), .P35(p_d[35])
        );
        assign pp = PPW'(p_d);
`endif
      end else begin : gen_fabric
        logic [AW-1:0] a_bits;
        logic [BW-1:0] b_bits;
        logic signed [17:0] a_in, b_in;  // the multiplier's operands
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
