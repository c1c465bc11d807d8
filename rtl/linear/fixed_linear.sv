// fixed_linear: folded fixed-point fully connected layer, y = requant(W x + b).
//
// One input vector of IN_FEATURES elements arrives as C = IN_FEATURES / IN_PAR beats of IN_PAR
// lanes (element order, lane 0 first). The layer computes OUT_PAR outputs at a time ("a group"),
// G = OUT_FEATURES / OUT_PAR groups per vector, each group taking C steps of IN_PAR x OUT_PAR
// multiply-accumulates. The first group consumes the input stream directly and stores it; the
// other groups replay the stored vector. Each group leaves as one beat of OUT_PAR lanes.
// The exact accumulator (IN_FRAC + W_FRAC fraction bits, never overflows) is rounded half up
// and saturated to the output format by fixed_requant: bit-exact with golden.components.linear.
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
// Latency: the beat of group g leaves 1 cycle after its last step; with G = 1 that is 1 cycle
//   after the vector's last input beat.
// Memories: a weight ROM of at least 512 words and 16 kb (and then the bias ROM too) is read one
//   cycle ahead into a register (a synchronous read), so synthesis maps it to block RAM; a rst
//   of at least one cycle primes the first read. Smaller ROMs are read combinationally (LUTs).
//   Timing is the same either way.
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

  // ---- parameter memories --------------------------------------------------------------------
  logic [WWORD-1:0] weight_mem[G*C];
  initial $readmemh(WEIGHTS_FILE, weight_mem);

  // ---- control ---------------------------------------------------------------------------------
  logic [CW-1:0] step_idx;   // c: input beat within the vector
  logic [GW-1:0] group_idx;  // g: output group within the vector
  logic first_group, last_step, out_free, have_operand, step;

  assign first_group = group_idx == '0;
  assign last_step = step_idx == CW'(C - 1);
  assign out_free = !data_out_valid || data_out_ready;
  assign have_operand = first_group ? data_in_valid : 1'b1;
  // A step may run unless it completes a group whose result has nowhere to go.
  assign step = have_operand && (!last_step || out_free);
  assign data_in_ready = first_group && (!last_step || out_free);

  // The position of the next cycle: the memories are read one cycle ahead with it, so their
  // outputs are registered (block RAM) and still belong to the current step.
  logic [CW-1:0] step_next;
  logic [GW-1:0] group_next;
  always_comb begin
    step_next  = step_idx;
    group_next = group_idx;
    if (rst) begin
      step_next  = '0;
      group_next = '0;
    end else if (step) begin
      step_next = last_step ? '0 : step_idx + CW'(1);
      if (last_step) group_next = (group_idx == GW'(G - 1)) ? '0 : group_idx + GW'(1);
    end
  end

  always_ff @(posedge clk) begin
    step_idx  <= step_next;
    group_idx <= group_next;
  end

  // ---- operand: the live input for group 0, the stored vector for the others -------------------
  logic [IN_PAR-1:0][IN_WIDTH-1:0] operand;
  if (G > 1) begin : gen_replay
    logic [IN_PAR-1:0][IN_WIDTH-1:0] vector_mem[C];
    always_ff @(posedge clk) begin
      if (step && first_group) vector_mem[step_idx] <= data_in;
    end
    assign operand = first_group ? data_in : vector_mem[step_idx];
  end else begin : gen_no_replay
    assign operand = data_in;
  end

  // ---- multiply-accumulate -----------------------------------------------------------------
  // A deep, large ROM is read one cycle ahead into a register (a synchronous read: block RAM);
  // a shallow one is read combinationally, which Yosys folds into far fewer LUTs than a
  // registered wide word.
  logic [WWORD-1:0] weight_word;  // weights of the current step
  if (ROM_IN_BRAM) begin : gen_sync_weights
    always_ff @(posedge clk) begin
      weight_word <= weight_mem[C*int'(group_next)+int'(step_next)];
    end
  end else begin : gen_comb_weights
    assign weight_word = weight_mem[C*int'(group_idx)+int'(step_idx)];
  end

  logic signed [OUT_PAR-1:0][ACC_W-1:0] acc, acc_next, base;
  logic signed [OUT_PAR-1:0][ACC_W-1:0] bias_aligned;

  if (HAS_BIAS) begin : gen_bias
    logic [BWORD-1:0] bias_mem[G];
    initial $readmemh(BIAS_FILE, bias_mem);
    logic [BWORD-1:0] bias_word;  // bias of the current group
    if (ROM_IN_BRAM) begin : gen_sync_bias
      always_ff @(posedge clk) begin
        bias_word <= bias_mem[group_next];
      end
    end else begin : gen_comb_bias
      assign bias_word = bias_mem[group_idx];
    end
    for (genvar o = 0; o < OUT_PAR; o++) begin : gen_lane
      assign bias_aligned[o] =
          ACC_W'(signed'(bias_word[o*B_WIDTH+:B_WIDTH])) <<< (BSHIFT > 0 ? BSHIFT : 0);
    end
  end else begin : gen_no_bias_add
    assign bias_aligned = '0;
  end

  always_comb begin
    for (int o = 0; o < OUT_PAR; o++) begin
      base[o] = step_idx == '0 ? bias_aligned[o] : acc[o];
      acc_next[o] = base[o];
      for (int i = 0; i < IN_PAR; i++) begin
        acc_next[o] = acc_next[o] + ACC_W'(
            $signed({IN_SIGNED ? operand[i][IN_WIDTH-1] : 1'b0, operand[i]})
            * $signed(weight_word[(o*IN_PAR+i)*W_WIDTH+:W_WIDTH]));
      end
    end
  end

  always_ff @(posedge clk) begin
    if (step && !last_step) acc <= acc_next;
  end

  // ---- requantize and output register ------------------------------------------------------
  logic [OUT_PAR-1:0][OUT_WIDTH-1:0] result;
  for (genvar o = 0; o < OUT_PAR; o++) begin : gen_requant
    fixed_requant #(
        .IN_WIDTH  (ACC_W),
        .IN_FRAC   (ACC_FRAC),
        .IN_SIGNED (1'b1),
        .OUT_WIDTH (OUT_WIDTH),
        .OUT_FRAC  (OUT_FRAC),
        .OUT_SIGNED(OUT_SIGNED)
    ) u_requant (
        .data_in (acc_next[o]),
        .data_out(result[o])
    );
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      data_out_valid <= 1'b0;
    end else if (step && last_step) begin
      data_out_valid <= 1'b1;
    end else if (data_out_ready) begin
      data_out_valid <= 1'b0;
    end
  end

  always_ff @(posedge clk) begin
    if (step && last_step) data_out <= result;
  end
endmodule
