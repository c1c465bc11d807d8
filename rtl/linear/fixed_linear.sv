// fixed_linear: folded fixed-point fully connected layer, y = requant(W x + b).
//
// One input vector of IN_FEATURES elements arrives as C = IN_FEATURES / IN_PAR beats of IN_PAR
// lanes (element order, lane 0 first). The layer computes OUT_PAR outputs at a time ("a group"),
// G = OUT_FEATURES / OUT_PAR groups per vector, each group taking C steps of IN_PAR x OUT_PAR
// multiply-accumulates. The first group consumes the input stream directly and stores it; the
// other groups replay the stored vector. Each group leaves as one beat of OUT_PAR lanes.
// The exact accumulator (IN_FRAC + W_FRAC fraction bits, never overflows) is rounded half up
// and saturated to the output format by fixed_requant_reg: bit-exact with golden.components.linear.
//
// Pipeline (every level registered, all moving together with `advance`): a step is issued into
// the operand and weight registers (the weight ROM is read synchronously); mult_pipe registers
// the operands again (the multipliers' input registers, which also follow a block-RAM read) and
// the products; add_tree sums the IN_PAR products of each output lane, one register level per
// adder level; the accumulator adds the sum (or starts from the bias on a group's first step);
// fixed_requant_reg rounds the finished accumulator into its register; a skid_buffer offers the
// beat. data_in_ready depends only on flip-flops (never on data_out_ready in the same cycle).
// The enable `advance` reaches every datapath register, so it is built in NE + 2 identical copies
// (each from its own copy of the result-valid and ready flip-flops): copy NE + 1 for the control,
// copy NE for the weight ROM's read register, copies 0 .. NE-1 for the rest of the datapath,
// multiply-accumulate lane (o, i) taking copy
// (o * IN_PAR + i) * NE / (OUT_PAR * IN_PAR), NE = min(ceil(OUT_PAR * IN_PAR / 4), 64). No enable
// net then drives more than about four lanes' registers (up to 64 copies), which keeps a wide
// layer's clock at its multipliers' pace. A LUT weight ROM likewise has up to NE identical copies of
// its address counter, each addressing its own share of the lanes: every address bit reaches every
// LUT of the ROM, so one counter would fan out to all lanes' weights across the device (fewer
// copies for large ROMs, see ROM_COPY_BITS).
//
// Parameters:
//   IN_FEATURES  K, elements per input vector (>= 1)
//   OUT_FEATURES N, elements per output vector (>= 1)
//   IN_PAR       input lanes per beat, divides IN_FEATURES
//   OUT_PAR      output lanes per beat, divides OUT_FEATURES
//   IN_WIDTH, IN_FRAC, IN_SIGNED     input format (IN_SIGNED=0: unsigned, e.g. after ReLU)
//   W_WIDTH, W_FRAC                  weight format (signed)
//   HAS_BIAS                         1: add a bias
//   B_WIDTH, B_FRAC                  bias format (signed), B_FRAC <= IN_FRAC + W_FRAC
//   OUT_WIDTH, OUT_FRAC, OUT_SIGNED  output format
//   WEIGHTS_FILE $readmemh image: G*C words of OUT_PAR*IN_PAR*W_WIDTH bits; word g*C+c holds
//                W[g*OUT_PAR+o][c*IN_PAR+i] at lane o*IN_PAR+i (lane 0 in the low bits)
//   BIAS_FILE    $readmemh image: G words of OUT_PAR*B_WIDTH bits; word g holds b[g*OUT_PAR+o]
//                at lane o (ignored when HAS_BIAS=0)
//   (sim/memimage.py writes both images.)
// lint-params: WEIGHTS_FILE="weights.memh" BIAS_FILE="bias.memh"
//
// Initiation interval: G * C = (OUT_FEATURES/OUT_PAR) * (IN_FEATURES/IN_PAR) cycles per vector
//   when the input keeps up and the output is never stalled (1 when fully parallel).
// Latency: the beat of group g leaves 7 + R + M + T cycles after its last step, T =
//   ceil(log2(IN_PAR)) adder-tree levels, M = ceil(log2(LX * LW)) extra product levels for
//   operands over 18 bits (LX = 1 if XW <= 18 else 1 + ceil((XW - 18) / 17), XW = IN_WIDTH +
//   (IN_SIGNED ? 0 : 1); LW likewise for W_WIDTH; M = 0 for operands of at most 18 bits), R = 1
//   for a block-RAM weight ROM (see Memories), else 0: issue, [block-RAM word register],
//   multiplier input, product, product again (next to the multiplier), T tree levels, accumulator, requantizer, skid_buffer. With G = 1
//   that is after the vector's last input beat.
// Memories: every ROM is read synchronously at issue. A weight ROM of at least 512 words
//   (G * C >= 512) and 16 kb (G * C * OUT_PAR * IN_PAR * W_WIDTH >= 16384) is left to synthesis
//   (block RAM) and its word is registered once more; smaller ones carry rom_style = "logic"
//   (LUTs).
module fixed_linear #(
    parameter int    IN_FEATURES  = 4,   // K: elements per input vector
    parameter int    OUT_FEATURES = 4,   // N: elements per output vector
    parameter int    IN_PAR       = 1,   // input lanes per beat (divides IN_FEATURES)
    parameter int    OUT_PAR      = 1,   // output lanes per beat (divides OUT_FEATURES)
    parameter int    IN_WIDTH     = 8,   // input bits
    parameter int    IN_FRAC      = 4,   // input fraction bits
    parameter bit    IN_SIGNED    = 1,   // input is two's complement
    parameter int    W_WIDTH      = 8,   // weight bits (signed)
    parameter int    W_FRAC       = 6,   // weight fraction bits
    parameter bit    HAS_BIAS     = 1,   // add a bias
    parameter int    B_WIDTH      = 8,   // bias bits (signed)
    parameter int    B_FRAC       = 6,   // bias fraction bits (<= IN_FRAC + W_FRAC)
    parameter int    OUT_WIDTH    = 8,   // output bits
    parameter int    OUT_FRAC     = 4,   // output fraction bits
    parameter bit    OUT_SIGNED   = 1,   // output is two's complement
    parameter string WEIGHTS_FILE = "",  // weight memory image (required)
    parameter string BIAS_FILE    = ""   // bias memory image (required when HAS_BIAS)
) (
    input  logic                                clk,
    input  logic                                rst,
    input  logic [ IN_PAR-1:0][ IN_WIDTH-1:0]   data_in,
    input  logic                                data_in_valid,
    output logic                                data_in_ready,
    output logic [OUT_PAR-1:0][OUT_WIDTH-1:0]   data_out,
    output logic                                data_out_valid,
    input  logic                                data_out_ready
);
  localparam int C = IN_PAR > 0 ? IN_FEATURES / IN_PAR : 1;     // steps (input beats) per group
  localparam int G = OUT_PAR > 0 ? OUT_FEATURES / OUT_PAR : 1;  // groups (output beats) per vector
  localparam int CW = C > 1 ? $clog2(C) : 1;
  localparam int GW = G > 1 ? $clog2(G) : 1;
  localparam int XW = IN_WIDTH + (IN_SIGNED ? 0 : 1);            // input as a signed number
  localparam int PROD_W = XW + W_WIDTH;
  localparam int ACC_FRAC = IN_FRAC + W_FRAC;
  localparam int BSHIFT = ACC_FRAC - B_FRAC;                     // bias alignment (left shift)
  localparam int SUM_W = PROD_W + (IN_FEATURES > 1 ? $clog2(IN_FEATURES) : 0);
  localparam int BIAS_W = HAS_BIAS ? B_WIDTH + (BSHIFT > 0 ? BSHIFT : 0) : 1;
  localparam int ACC_W = (SUM_W > BIAS_W ? SUM_W : BIAS_W) + 1;  // never overflows (docs/contracts.md)
  localparam int WWORD = OUT_PAR * IN_PAR * W_WIDTH;
  localparam int BWORD = OUT_PAR * B_WIDTH;
  // Weight ROMs of at least 512 words and 16 kb are read synchronously so that synthesis maps
  // them to block RAM (mapper/registry.py's cost model uses the same rule).
  localparam bit ROM_IN_BRAM = G * C >= 512 && G * C * WWORD >= 16384;

  // Parameter checks: stop elaboration with a message naming the parameter.
  if (IN_FEATURES < 1) begin : gen_bad_k
    $error("fixed_linear: IN_FEATURES must be >= 1, got %0d", IN_FEATURES);
  end
  if (OUT_FEATURES < 1) begin : gen_bad_n
    $error("fixed_linear: OUT_FEATURES must be >= 1, got %0d", OUT_FEATURES);
  end
  if (IN_PAR < 1 || IN_FEATURES % IN_PAR != 0) begin : gen_bad_in_par
    $error("fixed_linear: IN_PAR=%0d must be >= 1 and divide IN_FEATURES=%0d", IN_PAR, IN_FEATURES);
  end
  if (OUT_PAR < 1 || OUT_FEATURES % OUT_PAR != 0) begin : gen_bad_out_par
    $error("fixed_linear: OUT_PAR=%0d must be >= 1 and divide OUT_FEATURES=%0d", OUT_PAR,
           OUT_FEATURES);
  end
  if (IN_WIDTH < (IN_SIGNED ? 2 : 1) || W_WIDTH < 2 || OUT_WIDTH < 2) begin : gen_bad_width
    $error("fixed_linear: IN_WIDTH=%0d, W_WIDTH=%0d and OUT_WIDTH=%0d are too narrow", IN_WIDTH,
           W_WIDTH, OUT_WIDTH);
  end
  if (HAS_BIAS && (B_WIDTH < 2 || BSHIFT < 0)) begin : gen_bad_bias
    $error("fixed_linear: B_FRAC=%0d must be <= IN_FRAC + W_FRAC = %0d and B_WIDTH >= 2", B_FRAC,
           ACC_FRAC);
  end
  if (WEIGHTS_FILE == "") begin : gen_no_weights
    $error("fixed_linear: WEIGHTS_FILE must name a $readmemh weight image");
  end
  if (HAS_BIAS && BIAS_FILE == "") begin : gen_no_bias
    $error("fixed_linear: BIAS_FILE must name a $readmemh bias image when HAS_BIAS=1");
  end

  // ---- pipeline geometry -------------------------------------------------------------------
  localparam int LX = XW <= 18 ? 1 : 1 + (XW - 2) / 17;  // mult_pipe limbs of an input
  localparam int LW = W_WIDTH <= 18 ? 1 : 1 + (W_WIDTH - 2) / 17;  // and of a weight
  localparam int MLAT = 3 + (LX * LW > 1 ? $clog2(LX * LW) : 0);  // mult_pipe: in, 2 product regs
  localparam int TREE = IN_PAR > 1 ? $clog2(IN_PAR) : 0;  // adder-tree levels
  localparam int TREE_W = PROD_W + TREE;  // bits of a lane's sum of products
  localparam int RL = ROM_IN_BRAM ? 1 : 0;  // a register level behind a block-RAM read
  localparam int DT = RL + MLAT + TREE;  // register levels from the issue registers to the tree's sum
  localparam int AW = G * C > 1 ? $clog2(G * C) : 1;  // weight ROM address bits
  localparam int MACS = OUT_PAR * IN_PAR;  // multiply-accumulate lanes
  localparam int NE_LANES = (MACS + 3) / 4;  // one enable copy per four lanes ...
  localparam int NE = NE_LANES < 64 ? NE_LANES : 64;  // ... up to 64 copies

  // The copy of `advance` that enables lane (o, i)'s registers.
  function automatic int en_of(int o, int i);
    return (o * IN_PAR + i) * NE / MACS;
  endfunction

  // ---- issue: the step's counters, operand and weights --------------------------------------
  logic [CW-1:0] step_idx;   // c: input beat within the vector
  logic [GW-1:0] group_idx;  // g: output group within the vector
  // g * C + c: the weight word of the step, in NA identical copies (a LUT ROM's address bits
  // reach every LUT of every lane's weights: copy k addresses lanes [LO_k, LO_k+1) only, LO_k =
  // ceil(k * MACS / NA)). Synthesis builds each copy's ROM whole before it drops the other lanes'
  // bits, so the copies are limited to ROM_COPY_BITS built bits (one NE-th of the lanes each at
  // most).
  localparam int ROM_COPY_BITS = 262144;
  localparam int NA_FIT = ROM_COPY_BITS / (WWORD * G * C);
  localparam int NA = ROM_IN_BRAM || NA_FIT < 1 ? 1 : NA_FIT < NE ? NA_FIT : NE;
  logic [NA-1:0][AW-1:0] rom_addr;
  logic first_group, last_step, last_group, have_operand, step, advance;
  // Copies of the requantizer register's valid flag, of the skid_buffer's ready and of the
  // enable they make; copy NE + 1 is the control's, copy NE the weight ROM's.
  logic [NE+1:0] result_valid, result_ready, adv;

  // Every register level moves when the requantizer's register is empty or being taken; the
  // skid_buffer's ready is a flip-flop, so data_in_ready depends on registers only.
  assign adv = ~result_valid | result_ready;
  assign advance = adv[NE+1];
  assign first_group = group_idx == '0;
  assign last_step = step_idx == CW'(C - 1);
  assign last_group = group_idx == GW'(G - 1);
  assign have_operand = first_group ? data_in_valid : 1'b1;
  assign step = have_operand && advance;
  assign data_in_ready = first_group && advance;

  always_ff @(posedge clk) begin
    if (rst) begin
      step_idx <= '0;
      group_idx <= '0;
    end else if (step) begin
      step_idx <= last_step ? '0 : step_idx + CW'(1);
      if (last_step) group_idx <= last_group ? '0 : group_idx + GW'(1);
    end
  end
  for (genvar k = 0; k < NA; k++) begin : gen_rom_addr
    // keep on the process: synthesis must not merge the equal copies
    (* keep *) always_ff @(posedge clk) begin
      if (rst) rom_addr[k] <= '0;
      else if (step) rom_addr[k] <= last_step && last_group ? '0 : rom_addr[k] + AW'(1);
    end
  end

  // The live input for group 0, the stored vector for the others; input lane i's registers take
  // the enable copy of lane (0, i).
  logic [IN_PAR-1:0][IN_WIDTH-1:0] operand, x_issue;
  for (genvar i = 0; i < IN_PAR; i++) begin : gen_in_lane
    if (G > 1) begin : gen_replay
      logic [IN_WIDTH-1:0] vector_mem[C];
      always_ff @(posedge clk) begin
        if (have_operand && adv[en_of(0, i)] && first_group) vector_mem[step_idx] <= data_in[i];
      end
      assign operand[i] = first_group ? data_in[i] : vector_mem[step_idx];
    end else begin : gen_no_replay
      assign operand[i] = data_in[i];
    end

    always_ff @(posedge clk) begin
      if (adv[en_of(0, i)]) x_issue[i] <= operand[i];
    end
  end

  // The weights of the issued step: a synchronous read of the weight ROM.
  // The ROM's read register takes one enable copy of its own: with an enable per lane, Yosys
  // rebuilds a LUT ROM around the address counter, a longer path than the word's fan-out.
  logic [WWORD-1:0] w_issue;
  if (ROM_IN_BRAM) begin : gen_bram_weights
    logic [WWORD-1:0] weight_mem[G*C];
    initial $readmemh(WEIGHTS_FILE, weight_mem);
    always_ff @(posedge clk) begin
      if (adv[NE]) w_issue <= weight_mem[int'(rom_addr[0])];
    end
  end else begin : gen_logic_weights
    for (genvar k = 0; k < NA; k++) begin : gen_part
      // copy k's lanes l: l * NA / MACS == k, read from a ROM of its own (of which synthesis keeps
      // only those lanes' bits: one ROM read at NA addresses keeps every bit of every read)
      localparam int LO = (k * MACS + NA - 1) / NA;
      localparam int HI = ((k + 1) * MACS + NA - 1) / NA;
      (* rom_style = "logic" *) logic [WWORD-1:0] weight_mem[G*C];
      initial $readmemh(WEIGHTS_FILE, weight_mem);
      always_ff @(posedge clk) begin
        if (adv[NE]) w_issue[LO*W_WIDTH+:(HI-LO)*W_WIDTH] <= weight_mem[int'(rom_addr[k])][LO*W_WIDTH+:(HI-LO)*W_WIDTH];
      end
    end
  end

  // The step's flags travel beside the data: valid, first step of its group, last step, group.
  logic [DT:0] tok_valid, tok_first, tok_last;
  logic [GW-1:0] tok_group[DT];
  always_ff @(posedge clk) begin
    if (rst) begin
      tok_valid <= '0;
    end else if (advance) begin
      tok_valid <= {tok_valid[DT-1:0], step};
    end
  end
  always_ff @(posedge clk) begin
    if (advance) begin
      tok_first <= {tok_first[DT-1:0], step_idx == '0};
      tok_last <= {tok_last[DT-1:0], last_step};
      tok_group[0] <= group_idx;
      for (int k = 1; k < DT; k++) tok_group[k] <= tok_group[k-1];
    end
  end

  // A block RAM's clock-to-out is most of a cycle: its word (and the operand beside it) is
  // registered once more next to the RAM before it travels to the multipliers.
  logic [IN_PAR-1:0][IN_WIDTH-1:0] x_mult;
  logic [WWORD-1:0] w_mult;
  if (ROM_IN_BRAM) begin : gen_bram_level
    for (genvar i = 0; i < IN_PAR; i++) begin : gen_x
      always_ff @(posedge clk) begin
        if (adv[en_of(0, i)]) x_mult[i] <= x_issue[i];
      end
    end
    for (genvar l = 0; l < MACS; l++) begin : gen_w
      always_ff @(posedge clk) begin
        if (adv[en_of(l / IN_PAR, l % IN_PAR)]) w_mult[l*W_WIDTH+:W_WIDTH] <= w_issue[l*W_WIDTH+:W_WIDTH];
      end
    end
  end else begin : gen_no_bram_level
    assign x_mult = x_issue;
    assign w_mult = w_issue;
  end

  // ---- products and their sums, per output lane ------------------------------------------
  logic signed [OUT_PAR-1:0][TREE_W-1:0] lane_sum;  // with tok_*[DT]
  for (genvar o = 0; o < OUT_PAR; o++) begin : gen_lane
    logic [IN_PAR-1:0][PROD_W-1:0] products;
    logic [IN_PAR-1:0] lane_en;  // the enable copy of each of the lane's multipliers
    for (genvar i = 0; i < IN_PAR; i++) begin : gen_mac
      assign lane_en[i] = adv[en_of(o, i)];
      mult_pipe #(
          .A_WIDTH(XW),
          .B_WIDTH(W_WIDTH),
          .IN_REG (1'b1),
          .OUT_REG(1'b1)
      ) u_mult (
          .clk,
          .en(lane_en[i]),
          .a (XW'($signed({IN_SIGNED ? x_mult[i][IN_WIDTH-1] : 1'b0, x_mult[i]}))),
          .b ($signed(w_mult[(o*IN_PAR+i)*W_WIDTH+:W_WIDTH])),
          .p (products[i])
      );
    end
    add_tree #(
        .N        (IN_PAR),
        .IN_WIDTH (PROD_W),
        .OUT_WIDTH(TREE_W),
        .EN_COPIES(IN_PAR)
    ) u_tree (
        .clk,
        .en      (lane_en),
        .data_in (products),
        .data_out(lane_sum[o])
    );
  end

  // ---- bias, read one level ahead of the accumulator ------------------------------------------
  logic signed [OUT_PAR-1:0][ACC_W-1:0] bias_aligned;
  if (HAS_BIAS) begin : gen_bias
    (* rom_style = "logic" *) logic [BWORD-1:0] bias_mem[G];
    initial $readmemh(BIAS_FILE, bias_mem);
    logic [BWORD-1:0] bias_word;  // bias of the group of the step entering the accumulator
    logic [BWORD-1:0] bias_read;
    assign bias_read = bias_mem[tok_group[DT-1]];
    for (genvar o = 0; o < OUT_PAR; o++) begin : gen_lane
      always_ff @(posedge clk) begin
        if (adv[en_of(o, 0)]) bias_word[o*B_WIDTH+:B_WIDTH] <= bias_read[o*B_WIDTH+:B_WIDTH];
      end
      assign bias_aligned[o] =
          ACC_W'(signed'(bias_word[o*B_WIDTH+:B_WIDTH])) <<< (BSHIFT > 0 ? BSHIFT : 0);
    end
  end else begin : gen_no_bias_add
    assign bias_aligned = '0;
    logic unused_group;
    assign unused_group = ^tok_group[DT-1];
  end

  // ---- accumulate -------------------------------------------------------------------------
  // Each output lane keeps its own copy of the last token flags (valid, first step), loaded
  // with its enable copy, so that no flag fans out to every accumulator bit.
  logic signed [OUT_PAR-1:0][ACC_W-1:0] acc;
  logic acc_done;  // acc holds a group's finished sum
  for (genvar o = 0; o < OUT_PAR; o++) begin : gen_acc
    logic lane_valid, lane_first;  // copies of tok_valid[DT] and tok_first[DT]
    always_ff @(posedge clk) begin
      if (rst) lane_valid <= 1'b0;
      else if (adv[en_of(o, 0)]) lane_valid <= tok_valid[DT-1];
    end
    always_ff @(posedge clk) begin
      if (adv[en_of(o, 0)]) lane_first <= tok_first[DT-1];
      if (adv[en_of(o, 0)] && lane_valid) begin
        acc[o] <= (lane_first ? bias_aligned[o] : acc[o]) + ACC_W'(signed'(lane_sum[o]));
      end
    end
  end
  always_ff @(posedge clk) begin
    if (rst) acc_done <= 1'b0;
    else if (advance) acc_done <= tok_valid[DT] && tok_last[DT];
  end

  // ---- requantize (a register between the accumulator and the output) and the skid_buffer ----
  logic [OUT_PAR-1:0][OUT_WIDTH-1:0] result;
  for (genvar o = 0; o < OUT_PAR; o++) begin : gen_requant
    fixed_requant_reg #(
        .IN_WIDTH  (ACC_W),
        .IN_FRAC   (ACC_FRAC),
        .IN_SIGNED (1'b1),
        .OUT_WIDTH (OUT_WIDTH),
        .OUT_FRAC  (OUT_FRAC),
        .OUT_SIGNED(OUT_SIGNED)
    ) u_requant (
        .clk,
        .en      (adv[en_of(o, 0)]),
        .data_in (acc[o]),
        .data_out(result[o])
    );
  end

  for (genvar a = 0; a <= NE + 1; a++) begin : gen_result_valid
    always_ff @(posedge clk) begin
      if (rst) result_valid[a] <= 1'b0;
      else if (adv[a]) result_valid[a] <= acc_done;
    end
  end

  skid_buffer #(
      .LANES       (OUT_PAR),
      .WIDTH       (OUT_WIDTH),
      .READY_COPIES(NE + 2)
  ) u_out (
      .clk,
      .rst,
      .data_in       (result),
      .data_in_valid (result_valid[NE+1]),
      .data_in_ready (result_ready),
      .data_out,
      .data_out_valid,
      .data_out_ready
  );
endmodule
