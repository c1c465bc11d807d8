// fixed_dwconv2d: streaming fixed-point depthwise 2-D convolution (groups = channels in = out).
//
// Input: one image of IMG_H x IMG_W pixels in raster order, one pixel per beat, its CHANNELS
// channels in lanes (as fixed_conv2d). Output: the OUT_H x OUT_W output pixels in raster order,
// one pixel per beat, its CHANNELS channels in lanes. Output channel c is channel c's window
// times channel c's own KERNEL_H x KERNEL_W kernel, plus its bias: a conv_window hands the window
// over WINDOW_PAR pixels per step, Q = ceil(KERNEL_H * KERNEL_W / WINDOW_PAR) steps per window
// (the last one padded with zero pixels when WINDOW_PAR does not divide KERNEL_H * KERNEL_W),
// and a per-channel multiply-accumulate array of CHANNELS lanes x WINDOW_PAR multipliers takes
// one step per cycle, lane c multiplying only channel c's window pixels by its own weights. The
// exact accumulator (IN_FRAC + W_FRAC fraction bits, wide enough for Q * WINDOW_PAR products and
// the bias: never overflows) is rounded half up and saturated by fixed_requant_reg: bit-exact
// with golden.conv.conv2d(..., groups=CHANNELS).
//
// Pipeline (fixed_linear's, with one output group and one operand per multiplier; every level
// registered, all moving together with `advance`): a step is issued into the operand and weight
// registers (the weight ROM is read synchronously); mult_pipe registers the operands again and
// the products twice; add_tree sums each lane's WINDOW_PAR products, one register level per
// adder level; the accumulator adds the sum (or starts from the bias on a window's first step);
// fixed_requant_reg rounds the finished accumulator into its register; a skid_buffer offers the
// beat. data_in_ready is conv_window's (a flip-flop); the window's ready is the pipeline's
// advance, which depends only on flip-flops (never on data_out_ready in the same cycle). The
// enable `advance` is built in NE + 2 identical copies (each from its own copy of the
// result-valid and ready flip-flops): copy NE + 1 for the control, copy NE for the weight ROM's
// read register, copies 0 .. NE-1 for the rest of the datapath, multiplier (c, i) taking copy
// (c * WINDOW_PAR + i) * NE / (CHANNELS * WINDOW_PAR), NE = min(ceil(CHANNELS * WINDOW_PAR / 4),
// 64).
//
// Parameters:
//   CHANNELS                    channels in and out (lanes of a beat, >= 1)
//   IMG_H, IMG_W                image size
//   KERNEL_H, KERNEL_W, STRIDE, PADDING, WINDOW_PAR   as conv_window
//   IN_WIDTH, IN_FRAC, IN_SIGNED     input format (IN_SIGNED=0: unsigned, e.g. after ReLU)
//   W_WIDTH, W_FRAC                  weight format (signed)
//   HAS_BIAS                         1: add a bias
//   B_WIDTH, B_FRAC                  bias format (signed), B_FRAC <= IN_FRAC + W_FRAC
//   OUT_WIDTH, OUT_FRAC, OUT_SIGNED  output format
//   WEIGHTS_FILE $readmemh image: Q words of CHANNELS*WINDOW_PAR*W_WIDTH bits; word q holds
//                w[c][q*WINDOW_PAR + i] at lane c*WINDOW_PAR + i (lane 0 in the low bits), w[c][k]
//                being channel c's kernel pixel k = ky*KERNEL_W + kx (torch's (C, 1, KH, KW)
//                weight) and zero for k >= KERNEL_H*KERNEL_W (fixed_linear's layout of that
//                (CHANNELS, Q*WINDOW_PAR) matrix with IN_PAR = WINDOW_PAR, OUT_PAR = CHANNELS);
//                sim/memimage.py conv2d_weight_matrix builds that matrix
//   BIAS_FILE    $readmemh image: one word of CHANNELS*B_WIDTH bits, b[c] at lane c (ignored
//                when HAS_BIAS=0)
// lint-params: WEIGHTS_FILE="weights.memh" BIAS_FILE="bias.memh"
//
// Initiation interval: Q cycles per output pixel when the input keeps up and the output is
//   never stalled.
// Latency: an output pixel's beat leaves 7 + M + T cycles after its window's last step is taken
//   from the conv_window (which offers a step 2 cycles after the last pixel it reads is taken),
//   T = ceil(log2(WINDOW_PAR)) adder-tree levels, M = ceil(log2(LX * LW)) extra product levels
//   for operands over 18 bits (as fixed_linear; M = 0 for operands of at most 18 bits): issue,
//   multiplier input, product, product again, T tree levels, accumulator, requantizer,
//   skid_buffer.
// Memories: the weight ROM (Q words, at most KERNEL_H * KERNEL_W) is read at issue into a
//   register and carries rom_style = "logic" (LUTs); the bias is a constant word.
module fixed_dwconv2d #(
    parameter int    CHANNELS     = 2,   // channels in and out (lanes of a beat)
    parameter int    IMG_H        = 8,   // image rows
    parameter int    IMG_W        = 8,   // image columns
    parameter int    KERNEL_H     = 3,   // kernel rows
    parameter int    KERNEL_W     = 3,   // kernel columns
    parameter int    STRIDE       = 1,   // window step
    parameter int    PADDING      = 0,   // zero pixels on each side
    parameter int    WINDOW_PAR   = 1,   // window pixels per step (1 .. KERNEL_H * KERNEL_W)
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
    input  logic                                  clk,
    input  logic                                  rst,
    input  logic [CHANNELS-1:0][ IN_WIDTH-1:0]    data_in,
    input  logic                                  data_in_valid,
    output logic                                  data_in_ready,
    output logic [CHANNELS-1:0][OUT_WIDTH-1:0]    data_out,
    output logic                                  data_out_valid,
    input  logic                                  data_out_ready
);
  localparam int WP = WINDOW_PAR > 0 ? WINDOW_PAR : 1;
  localparam int Q = (KERNEL_H * KERNEL_W + WP - 1) / WP;  // steps per window
  localparam int QW = Q > 1 ? $clog2(Q) : 1;
  localparam int XW = IN_WIDTH + (IN_SIGNED ? 0 : 1);  // input as a signed number
  localparam int PROD_W = XW + W_WIDTH;
  localparam int ACC_FRAC = IN_FRAC + W_FRAC;
  localparam int BSHIFT = ACC_FRAC - B_FRAC;  // bias alignment (left shift)
  localparam int SUM_W = PROD_W + (Q * WP > 1 ? $clog2(Q * WP) : 0);
  localparam int BIAS_W = HAS_BIAS ? B_WIDTH + (BSHIFT > 0 ? BSHIFT : 0) : 1;
  localparam int ACC_W = (SUM_W > BIAS_W ? SUM_W : BIAS_W) + 1;  // never overflows (docs/contracts.md)
  localparam int MACS = CHANNELS * WP;  // multipliers
  localparam int WWORD = MACS * W_WIDTH;
  localparam int BWORD = CHANNELS * B_WIDTH;

  // Parameter checks of this level (the window checks its geometry too).
  if (CHANNELS < 1) begin : gen_bad_channels
    $error("fixed_dwconv2d: CHANNELS must be >= 1, got %0d", CHANNELS);
  end
  if (WINDOW_PAR < 1 || WINDOW_PAR > KERNEL_H * KERNEL_W) begin : gen_bad_window_par
    $error("fixed_dwconv2d: WINDOW_PAR=%0d must be in 1 .. KERNEL_H * KERNEL_W = %0d", WINDOW_PAR,
           KERNEL_H * KERNEL_W);
  end
  if (IN_WIDTH < (IN_SIGNED ? 2 : 1) || W_WIDTH < 2 || OUT_WIDTH < 2) begin : gen_bad_width
    $error("fixed_dwconv2d: IN_WIDTH=%0d, W_WIDTH=%0d and OUT_WIDTH=%0d are too narrow", IN_WIDTH,
           W_WIDTH, OUT_WIDTH);
  end
  if (HAS_BIAS && (B_WIDTH < 2 || BSHIFT < 0)) begin : gen_bad_bias
    $error("fixed_dwconv2d: B_FRAC=%0d must be <= IN_FRAC + W_FRAC = %0d and B_WIDTH >= 2", B_FRAC,
           ACC_FRAC);
  end
  if (WEIGHTS_FILE == "") begin : gen_no_weights
    $error("fixed_dwconv2d: WEIGHTS_FILE must name a $readmemh weight image");
  end
  if (HAS_BIAS && BIAS_FILE == "") begin : gen_no_bias
    $error("fixed_dwconv2d: BIAS_FILE must name a $readmemh bias image when HAS_BIAS=1");
  end

  // ---- pipeline geometry -------------------------------------------------------------------
  localparam int LX = XW <= 18 ? 1 : 1 + (XW - 2) / 17;  // mult_pipe limbs of an input
  localparam int LW = W_WIDTH <= 18 ? 1 : 1 + (W_WIDTH - 2) / 17;  // and of a weight
  localparam int MLAT = 3 + (LX * LW > 1 ? $clog2(LX * LW) : 0);  // mult_pipe: in, 2 product regs
  localparam int TREE = WP > 1 ? $clog2(WP) : 0;  // adder-tree levels
  localparam int TREE_W = PROD_W + TREE;  // bits of a lane's sum of products
  localparam int DT = MLAT + TREE;  // register levels from the issue registers to the tree's sum
  localparam int NE_LANES = (MACS + 3) / 4;  // one enable copy per four multipliers ...
  localparam int NE = NE_LANES < 64 ? NE_LANES : 64;  // ... up to 64 copies

  // The copy of `advance` that enables multiplier (c, i)'s registers.
  function automatic int en_of(int c, int i);
    return (c * WP + i) * NE / MACS;
  endfunction

  // ---- the window generator ------------------------------------------------------------------
  logic [WP*CHANNELS-1:0][IN_WIDTH-1:0] window;  // lane i*CHANNELS + c: slot i's channel c
  logic window_valid, window_ready;

  conv_window #(
      .CHANNELS  (CHANNELS),
      .DATA_WIDTH(IN_WIDTH),
      .IMG_H     (IMG_H),
      .IMG_W     (IMG_W),
      .KERNEL_H  (KERNEL_H),
      .KERNEL_W  (KERNEL_W),
      .STRIDE    (STRIDE),
      .PADDING   (PADDING),
      .WINDOW_PAR(WP)
  ) u_window (
      .clk,
      .rst,
      .data_in,
      .data_in_valid,
      .data_in_ready,
      .data_out      (window),
      .data_out_valid(window_valid),
      .data_out_ready(window_ready)
  );

  // ---- issue: the step counter, operands and weights ----------------------------------------
  logic [QW-1:0] step_idx;  // q: step within the window (the weight ROM's address)
  logic last_step, step, advance;
  // Copies of the requantizer register's valid flag, of the skid_buffer's ready and of the
  // enable they make; copy NE + 1 is the control's, copy NE the weight ROM's.
  logic [NE+1:0] result_valid, result_ready, adv;

  // Every register level moves when the requantizer's register is empty or being taken; the
  // skid_buffer's ready is a flip-flop, so window_ready depends on registers only.
  assign adv = ~result_valid | result_ready;
  assign advance = adv[NE+1];
  assign last_step = step_idx == QW'(Q - 1);
  assign step = window_valid && advance;
  assign window_ready = advance;

  always_ff @(posedge clk) begin
    if (rst) step_idx <= '0;
    else if (step) step_idx <= last_step ? '0 : step_idx + QW'(1);
  end

  // Multiplier (c, i)'s operand is window slot i's channel c, registered with its enable copy.
  logic [MACS-1:0][IN_WIDTH-1:0] x_issue;  // lane c*WP + i
  for (genvar c = 0; c < CHANNELS; c++) begin : gen_in_channel
    for (genvar i = 0; i < WP; i++) begin : gen_in_slot
      always_ff @(posedge clk) begin
        if (adv[en_of(c, i)]) x_issue[c*WP+i] <= window[i*CHANNELS+c];
      end
    end
  end

  // The weights of the issued step: a synchronous read of the weight ROM, with an enable copy of
  // its own (as fixed_linear's).
  logic [WWORD-1:0] w_issue;
  (* rom_style = "logic" *) logic [WWORD-1:0] weight_mem[Q];
  initial $readmemh(WEIGHTS_FILE, weight_mem);
  always_ff @(posedge clk) begin
    if (adv[NE]) w_issue <= weight_mem[int'(step_idx)];
  end

  // The step's flags travel beside the data: valid, first step of its window, last step.
  logic [DT:0] tok_valid, tok_first, tok_last;
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
    end
  end

  // ---- products and their sums, per channel ------------------------------------------------
  logic signed [CHANNELS-1:0][TREE_W-1:0] lane_sum;  // with tok_*[DT]
  for (genvar c = 0; c < CHANNELS; c++) begin : gen_lane
    logic [WP-1:0][PROD_W-1:0] products;
    logic [WP-1:0] lane_en;  // the enable copy of each of the lane's multipliers
    for (genvar i = 0; i < WP; i++) begin : gen_mac
      assign lane_en[i] = adv[en_of(c, i)];
      mult_pipe #(
          .A_WIDTH(XW),
          .B_WIDTH(W_WIDTH),
          .IN_REG (1'b1),
          .OUT_REG(1'b1)
      ) u_mult (
          .clk,
          .en(lane_en[i]),
          .a (XW'($signed({IN_SIGNED ? x_issue[c*WP+i][IN_WIDTH-1] : 1'b0, x_issue[c*WP+i]}))),
          .b ($signed(w_issue[(c*WP+i)*W_WIDTH+:W_WIDTH])),
          .p (products[i])
      );
    end
    add_tree #(
        .N        (WP),
        .IN_WIDTH (PROD_W),
        .OUT_WIDTH(TREE_W),
        .EN_COPIES(WP)
    ) u_tree (
        .clk,
        .en      (lane_en),
        .data_in (products),
        .data_out(lane_sum[c])
    );
  end

  // ---- bias: one constant word --------------------------------------------------------------
  logic signed [CHANNELS-1:0][ACC_W-1:0] bias_aligned;
  if (HAS_BIAS) begin : gen_bias
    (* rom_style = "logic" *) logic [BWORD-1:0] bias_mem[1];
    initial $readmemh(BIAS_FILE, bias_mem);
    for (genvar c = 0; c < CHANNELS; c++) begin : gen_lane
      assign bias_aligned[c] =
          ACC_W'(signed'(bias_mem[0][c*B_WIDTH+:B_WIDTH])) <<< (BSHIFT > 0 ? BSHIFT : 0);
    end
  end else begin : gen_no_bias_add
    assign bias_aligned = '0;
  end

  // ---- accumulate -------------------------------------------------------------------------
  // Each channel keeps its own copy of the last token flags (valid, first step), loaded with its
  // enable copy, so that no flag fans out to every accumulator bit.
  logic signed [CHANNELS-1:0][ACC_W-1:0] acc;
  logic acc_done;  // acc holds a window's finished sum
  for (genvar c = 0; c < CHANNELS; c++) begin : gen_acc
    logic lane_valid, lane_first;  // copies of tok_valid[DT] and tok_first[DT]
    always_ff @(posedge clk) begin
      if (rst) lane_valid <= 1'b0;
      else if (adv[en_of(c, 0)]) lane_valid <= tok_valid[DT-1];
    end
    always_ff @(posedge clk) begin
      if (adv[en_of(c, 0)]) lane_first <= tok_first[DT-1];
      if (adv[en_of(c, 0)] && lane_valid) begin
        acc[c] <= (lane_first ? bias_aligned[c] : acc[c]) + ACC_W'(signed'(lane_sum[c]));
      end
    end
  end
  always_ff @(posedge clk) begin
    if (rst) acc_done <= 1'b0;
    else if (advance) acc_done <= tok_valid[DT] && tok_last[DT];
  end

  // ---- requantize (a register between the accumulator and the output) and the skid_buffer ----
  logic [CHANNELS-1:0][OUT_WIDTH-1:0] result;
  for (genvar c = 0; c < CHANNELS; c++) begin : gen_requant
    fixed_requant_reg #(
        .IN_WIDTH  (ACC_W),
        .IN_FRAC   (ACC_FRAC),
        .IN_SIGNED (1'b1),
        .OUT_WIDTH (OUT_WIDTH),
        .OUT_FRAC  (OUT_FRAC),
        .OUT_SIGNED(OUT_SIGNED)
    ) u_requant (
        .clk,
        .en      (adv[en_of(c, 0)]),
        .data_in (acc[c]),
        .data_out(result[c])
    );
  end

  for (genvar a = 0; a <= NE + 1; a++) begin : gen_result_valid
    always_ff @(posedge clk) begin
      if (rst) result_valid[a] <= 1'b0;
      else if (adv[a]) result_valid[a] <= acc_done;
    end
  end

  skid_buffer #(
      .LANES       (CHANNELS),
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
