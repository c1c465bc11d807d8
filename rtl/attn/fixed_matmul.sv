// fixed_matmul: product of two activation streams, y = requant((A B^T) * SCALE) per head (attention
// scores, TRANSPOSE_B = 1) or y = requant((A B) * SCALE) per head (weighted sum of values,
// TRANSPOSE_B = 0); the RTL twin of golden.attention.matmul.
//
// One "sequence" is HEADS matrices side by side. The second operand B of a sequence arrives on
// data_in_1 and is stored whole in one of BANKS buffers; while later sequences' B load into the
// other buffers, the rows of A (data_in_0) are multiplied with the stored B:
//   data_in_0 (A): ROWS x HEADS rows of K elements, row (i, h) = A_h[i, :], K / IN_PAR beats each;
//   data_in_1 (B): TRANSPOSE_B = 1: (N, HEADS, K) row-major, element (n, h, k) = B_h[n][k];
//                  TRANSPOSE_B = 0: (K, HEADS, N) row-major, element (k, h, n) = B_h[k][n];
//                  IN_PAR lanes per beat, HEADS * K * N / IN_PAR beats per sequence;
//   data_out:      ROWS x HEADS rows of N results, row (i, h) = y_h[i, :], N / OUT_PAR beats each,
//                  y_h[i][n] = requant(sum_k A_h[i][k] * B_h[n][k] (or B_h[k][n]) * SCALE).
// With A = Q and B = K of a multi-head attention in token-major order ((S, HEADS, D) streams) the
// output is the scores in (S, HEADS, S) order; with A = the probabilities and B = V it is the
// context in (S, HEADS, D) = (S, H) order: the heads' split and merge are stream orders.
//
// Each row is computed like fixed_linear with B as its weights: G = N / OUT_PAR groups of
// C = K / IN_PAR steps of IN_PAR x OUT_PAR multiplies; group 0 takes the live A beats and stores
// them, the other groups replay the stored row. The datapath is a pipeline that stalls as a
// whole only while its result waits for the output skid_buffer: per multiply a mult_pipe whose
// input registers take the operand and the B word at the step (on ECP5 the MULT18X18D's own
// registers), a registered adder tree per output lane, the accumulator, the dot product
// registered and multiplied by SCALE (a mult_pipe taking the accumulator's sum into its input
// registers; a plain register when SCALE = 1), the requantizer (registered). Exact until the one
// round-half-up and saturation at the output format.
//
// Parameters:
//   HEADS        matrices per sequence (>= 1)
//   ROWS         rows of A per head and sequence, M (>= 1)
//   K            contracted length (>= 1)
//   N            results per row (>= 1)
//   TRANSPOSE_B  1: B streams as (N, HEADS, K), y = A B^T; 0: B streams as (K, HEADS, N), y = A B
//   IN_PAR       lanes of both input streams; divides K (TRANSPOSE_B = 0: divides OUT_PAR too)
//   OUT_PAR      output lanes; divides N
//   BANKS        B buffers (>= 2): one loads while another is read
//   A_WIDTH, A_FRAC, A_SIGNED  format of A (A_SIGNED = 0: unsigned, e.g. probabilities)
//   B_WIDTH, B_FRAC            format of B (signed)
//   SCALE, SCALE_FRAC          unsigned integer scale (>= 1) and its fraction bits
//   OUT_WIDTH, OUT_FRAC, OUT_SIGNED  output format
//
// Latency: a row group's beat leaves LAT = M(XW, B_WIDTH) + ceil(log2(IN_PAR)) + S + 2 cycles
//   after its last step (the step of group 0 is the cycle its A beat is taken); the first step of
//   a sequence comes 2 cycles after its last B beat at the earliest. M(a, b) = 2 +
//   ceil(log2(LA * LB)) is mult_pipe's latency (IN_REG = 1, OUT_REG = 0; LA = 1 if a <= 18 else
//   1 + ceil((a - 18) / 17) limbs, LB likewise), XW = A_WIDTH + (A_SIGNED ? 0 : 1); S = 2 if
//   SCALE = 1, else M(ACC_W, SW) for the dot product (ACC_W = XW + B_WIDTH + ceil(log2(K)) bits)
//   times SCALE (SW = ceil(log2(SCALE + 1)) + 1 bits): LAT = 6 + ceil(log2(IN_PAR)) for operands
//   and dot products of at most 18 bits.
// Initiation interval: ROWS * HEADS * G * C cycles per sequence (one step per cycle) when its B
//   (HEADS * K * N / IN_PAR beats, one per cycle, loaded while earlier sequences compute) has
//   arrived: max of the two per sequence in steady state.
module fixed_matmul #(
    parameter int HEADS       = 1,  // matrices per sequence
    parameter int ROWS        = 2,  // rows of A per head and sequence
    parameter int K           = 4,  // contracted length
    parameter int N           = 4,  // results per row
    parameter bit TRANSPOSE_B = 1,  // B streams as (N, HEADS, K) (1) or (K, HEADS, N) (0)
    parameter int IN_PAR      = 1,  // lanes of both input streams
    parameter int OUT_PAR     = 1,  // output lanes
    parameter int BANKS       = 2,  // B buffers
    parameter int A_WIDTH     = 8,  // bits of A
    parameter int A_FRAC      = 4,  // fraction bits of A
    parameter bit A_SIGNED    = 1,  // A is two's complement
    parameter int B_WIDTH     = 8,  // bits of B (signed)
    parameter int B_FRAC      = 4,  // fraction bits of B
    parameter int SCALE       = 1,  // unsigned scale of the dot products
    parameter int SCALE_FRAC  = 0,  // fraction bits of SCALE
    parameter int OUT_WIDTH   = 8,  // output bits
    parameter int OUT_FRAC    = 4,  // output fraction bits
    parameter bit OUT_SIGNED  = 1   // output is two's complement
) (
    input  logic                              clk,
    input  logic                              rst,
    input  logic [ IN_PAR-1:0][  A_WIDTH-1:0] data_in_0,
    input  logic                              data_in_0_valid,
    output logic                              data_in_0_ready,
    input  logic [ IN_PAR-1:0][  B_WIDTH-1:0] data_in_1,
    input  logic                              data_in_1_valid,
    output logic                              data_in_1_ready,
    output logic [OUT_PAR-1:0][OUT_WIDTH-1:0] data_out,
    output logic                              data_out_valid,
    input  logic                              data_out_ready
);
  // mult_pipe's latency (IN_REG = 1, OUT_REG = 0) for a-bit and b-bit operands
  function automatic int mult_lat(int a, int b);
    int la = a <= 18 ? 1 : 1 + (a - 2) / 17;
    int lb = b <= 18 ? 1 : 1 + (b - 2) / 17;
    return 2 + (la * lb > 1 ? $clog2(la * lb) : 0);
  endfunction

  localparam int C = IN_PAR > 0 ? K / IN_PAR : 1;  // steps per group
  localparam int G = OUT_PAR > 0 ? N / OUT_PAR : 1;  // groups per row
  localparam int GC = G * C;  // steps per row
  localparam int HGC = HEADS * GC;  // B words per sequence
  localparam int DEPTH = BANKS * HGC;  // words of each B memory
  localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1;
  localparam int CW = C > 1 ? $clog2(C) : 1;
  localparam int GW = G > 1 ? $clog2(G) : 1;
  localparam int HW = HEADS > 1 ? $clog2(HEADS) : 1;
  localparam int RW = ROWS > 1 ? $clog2(ROWS) : 1;
  localparam int BKW = BANKS > 1 ? $clog2(BANKS) : 1;
  localparam int OPI = IN_PAR > 0 && OUT_PAR >= IN_PAR ? OUT_PAR / IN_PAR : 1;  // beats per B group (T=0)
  localparam int OPIW = OPI > 1 ? $clog2(OPI) : 1;
  localparam int IPW = IN_PAR > 1 ? $clog2(IN_PAR) : 1;
  localparam int OPW = OUT_PAR > 1 ? $clog2(OUT_PAR) : 1;
  localparam int XW = A_WIDTH + (A_SIGNED ? 0 : 1);  // A as a signed number
  localparam int PROD_W = XW + B_WIDTH;
  localparam int TREE_LEVELS = IN_PAR > 1 ? $clog2(IN_PAR) : 0;
  localparam int TREE_W = PROD_W + TREE_LEVELS;
  localparam int ACC_W = PROD_W + (K > 1 ? $clog2(K) : 0);  // the exact dot product
  localparam int SW = $clog2(SCALE + 1) + 1;  // SCALE as a signed number
  localparam int SC_W = ACC_W + SW;  // the exact scaled dot product
  localparam int ML = mult_lat(XW, B_WIDTH);  // step -> products
  localparam int DL = ML + TREE_LEVELS;  // step -> the adder trees' sums
  localparam int SL = SCALE == 1 ? 2 : mult_lat(ACC_W, SW);  // dot product -> scaled

  // Parameter checks: stop elaboration with a message naming the parameter.
  if (HEADS < 1) begin : gen_bad_heads
    $error("fixed_matmul: HEADS must be >= 1, got %0d", HEADS);
  end
  if (ROWS < 1) begin : gen_bad_rows
    $error("fixed_matmul: ROWS must be >= 1, got %0d", ROWS);
  end
  if (K < 1 || N < 1) begin : gen_bad_kn
    $error("fixed_matmul: K=%0d and N=%0d must be >= 1", K, N);
  end
  if (IN_PAR < 1 || K % IN_PAR != 0) begin : gen_bad_in_par
    $error("fixed_matmul: IN_PAR=%0d must be >= 1 and divide K=%0d", IN_PAR, K);
  end
  if (OUT_PAR < 1 || N % OUT_PAR != 0) begin : gen_bad_out_par
    $error("fixed_matmul: OUT_PAR=%0d must be >= 1 and divide N=%0d", OUT_PAR, N);
  end
  if (!TRANSPOSE_B && (IN_PAR < 1 || OUT_PAR % IN_PAR != 0)) begin : gen_bad_par_t0
    $error("fixed_matmul: with TRANSPOSE_B=0, IN_PAR=%0d must divide OUT_PAR=%0d", IN_PAR, OUT_PAR);
  end
  if (BANKS < 2) begin : gen_bad_banks
    $error("fixed_matmul: BANKS must be >= 2, got %0d", BANKS);
  end
  if (A_WIDTH < (A_SIGNED ? 2 : 1) || B_WIDTH < 2) begin : gen_bad_width
    $error("fixed_matmul: A_WIDTH=%0d or B_WIDTH=%0d is too narrow", A_WIDTH, B_WIDTH);
  end
  if (OUT_WIDTH < (OUT_SIGNED ? 2 : 1)) begin : gen_bad_out_width
    $error("fixed_matmul: OUT_WIDTH must be >= %0d, got %0d", OUT_SIGNED ? 2 : 1, OUT_WIDTH);
  end
  if (SCALE < 1) begin : gen_bad_scale
    $error("fixed_matmul: SCALE must be >= 1, got %0d", SCALE);
  end

  // ---- B buffers: banks of single elements, one per (output lane o, input lane i) ---------------
  logic [BANKS-1:0] full;  // bank holds a complete B
  logic [BKW-1:0] wbank, rbank;
  logic [AW-1:0] wbase, rbase;  // first word of the bank being written / read

  // writer position within a sequence of B beats (see the header for the stream orders)
  logic [CW-1:0] w_c;  // k / IN_PAR
  logic [HW-1:0] w_h;
  logic [GW-1:0] w_g;  // n / OUT_PAR
  logic [OPW-1:0] w_o;  // TRANSPOSE_B = 1: n % OUT_PAR
  logic [IPW-1:0] w_i;  // TRANSPOSE_B = 0: k % IN_PAR
  logic [OPIW-1:0] w_nb;  // TRANSPOSE_B = 0: (n / IN_PAR) % (OUT_PAR / IN_PAR)
  logic [AW-1:0] w_hoff, w_goff;  // h * G * C and g * C
  logic w_last;  // this beat ends the sequence's B

  logic b_take;
  assign data_in_1_ready = !full[wbank];
  assign b_take = data_in_1_valid && data_in_1_ready;

  if (TRANSPOSE_B) begin : gen_w_t1
    // order: k / IN_PAR innermost, then h, then n (o innermost, then g)
    logic end_c, end_h, end_o;
    assign end_c = w_c == CW'(C - 1);
    assign end_h = w_h == HW'(HEADS - 1);
    assign end_o = w_o == OPW'(OUT_PAR - 1);
    assign w_last = end_c && end_h && end_o && w_g == GW'(G - 1);
    always_ff @(posedge clk) begin
      if (rst) begin
        w_c <= '0;
        w_h <= '0;
        w_o <= '0;
        w_g <= '0;
        w_hoff <= '0;
        w_goff <= '0;
      end else if (b_take) begin
        w_c <= end_c ? '0 : w_c + CW'(1);
        if (end_c) begin
          w_h <= end_h ? '0 : w_h + HW'(1);
          w_hoff <= end_h ? '0 : w_hoff + AW'(GC);
          if (end_h) begin
            w_o <= end_o ? '0 : w_o + OPW'(1);
            if (end_o) begin
              w_g <= w_last ? '0 : w_g + GW'(1);
              w_goff <= w_last ? '0 : w_goff + AW'(C);
            end
          end
        end
      end
    end
    assign w_i  = '0;
    assign w_nb = '0;
  end else begin : gen_w_t0
    // order: n / IN_PAR innermost (nb, then g), then h, then k (i innermost, then c)
    logic end_nb, end_g, end_h, end_i;
    assign end_nb = w_nb == OPIW'(OPI - 1);
    assign end_g = w_g == GW'(G - 1);
    assign end_h = w_h == HW'(HEADS - 1);
    assign end_i = w_i == IPW'(IN_PAR - 1);
    assign w_last = end_nb && end_g && end_h && end_i && w_c == CW'(C - 1);
    always_ff @(posedge clk) begin
      if (rst) begin
        w_nb <= '0;
        w_g <= '0;
        w_h <= '0;
        w_i <= '0;
        w_c <= '0;
        w_hoff <= '0;
        w_goff <= '0;
      end else if (b_take) begin
        w_nb <= end_nb ? '0 : w_nb + OPIW'(1);
        if (end_nb) begin
          w_g <= end_g ? '0 : w_g + GW'(1);
          w_goff <= end_g ? '0 : w_goff + AW'(C);
          if (end_g) begin
            w_h <= end_h ? '0 : w_h + HW'(1);
            w_hoff <= end_h ? '0 : w_hoff + AW'(GC);
            if (end_h) begin
              w_i <= end_i ? '0 : w_i + IPW'(1);
              if (end_i) w_c <= w_last ? '0 : w_c + CW'(1);
            end
          end
        end
      end
    end
    assign w_o = '0;
  end

  // the accepted beat is written one cycle later (registered address and data)
  logic wr_en, wr_last;
  logic [AW-1:0] wr_addr;
  logic [IN_PAR-1:0][B_WIDTH-1:0] wr_data;
  logic [OPW-1:0] wr_o;
  logic [IPW-1:0] wr_i;
  logic [OPIW-1:0] wr_nb;
  logic [BKW-1:0] wr_bank;

  always_ff @(posedge clk) begin
    if (rst) wr_en <= 1'b0;
    else wr_en <= b_take;
  end
  always_ff @(posedge clk) begin
    if (b_take) begin
      wr_last <= w_last;
      wr_addr <= wbase + w_hoff + w_goff + AW'(w_c);
      wr_data <= data_in_1;
      wr_o <= w_o;
      wr_i <= w_i;
      wr_nb <= w_nb;
      wr_bank <= wbank;
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      wbank <= '0;
      wbase <= '0;
    end else if (b_take && w_last) begin
      wbank <= wbank == BKW'(BANKS - 1) ? '0 : wbank + BKW'(1);
      wbase <= wbank == BKW'(BANKS - 1) ? '0 : wbase + AW'(HGC);
    end
  end

  // ---- reader: row, head, group and step of the next multiply-accumulate step -------------------
  logic [CW-1:0] c;
  logic [GW-1:0] g;
  logic [HW-1:0] h;
  logic [RW-1:0] row;
  logic [AW-1:0] rd_addr;
  logic end_c, end_row, end_seq, first_group;
  logic adv, step, have_operand;

  assign end_c = c == CW'(C - 1);
  assign end_row = end_c && g == GW'(G - 1);
  assign end_seq = end_row && h == HW'(HEADS - 1) && row == RW'(ROWS - 1);
  assign first_group = g == '0;
  assign have_operand = first_group ? data_in_0_valid : 1'b1;
  assign step = adv && full[rbank] && have_operand;
  assign data_in_0_ready = adv && full[rbank] && first_group;

  logic [BKW-1:0] rbank_next;
  logic [AW-1:0] rbase_next;
  assign rbank_next = rbank == BKW'(BANKS - 1) ? '0 : rbank + BKW'(1);
  assign rbase_next = rbank == BKW'(BANKS - 1) ? '0 : rbase + AW'(HGC);

  always_ff @(posedge clk) begin
    if (rst) begin
      c <= '0;
      g <= '0;
      h <= '0;
      row <= '0;
      rd_addr <= '0;
      rbank <= '0;
      rbase <= '0;
    end else if (step) begin
      c <= end_c ? '0 : c + CW'(1);
      if (end_c) g <= end_row ? '0 : g + GW'(1);
      if (end_row) begin
        h <= h == HW'(HEADS - 1) ? '0 : h + HW'(1);
        if (h == HW'(HEADS - 1)) row <= row == RW'(ROWS - 1) ? '0 : row + RW'(1);
      end
      // steps of a row read consecutive words; after the last head the row of the next token
      // starts again at the bank's first word, after the last row the next bank's
      if (end_row && h == HW'(HEADS - 1)) rd_addr <= end_seq ? rbase_next : rbase;
      else rd_addr <= rd_addr + AW'(1);
      if (end_seq) begin
        rbank <= rbank_next;
        rbase <= rbase_next;
      end
    end
  end

  always_ff @(posedge clk) begin
    for (int b = 0; b < BANKS; b++) begin
      if (rst) full[b] <= 1'b0;
      else if (wr_en && wr_last && wr_bank == BKW'(b)) full[b] <= 1'b1;
      else if (step && end_seq && rbank == BKW'(b)) full[b] <= 1'b0;
    end
  end

  // ---- the operand: the live A beat in group 0, the stored row in the others ------------------
  logic [IN_PAR-1:0][A_WIDTH-1:0] operand;
  if (G > 1) begin : gen_replay
    logic [IN_PAR-1:0][A_WIDTH-1:0] row_mem[C];
    always_ff @(posedge clk) begin
      if (step && first_group) row_mem[c] <= data_in_0;
    end
    assign operand = first_group ? data_in_0 : row_mem[c];
  end else begin : gen_no_replay
    assign operand = data_in_0;
  end

  // ---- multipliers: operands registered at the step (mult_pipe's input registers), products ----
  logic signed [OUT_PAR-1:0][IN_PAR-1:0][PROD_W-1:0] prod;

  for (genvar o = 0; o < OUT_PAR; o++) begin : gen_bank_o
    for (genvar i = 0; i < IN_PAR; i++) begin : gen_bank_i
      logic [B_WIDTH-1:0] mem[DEPTH];
      logic we;
      logic [B_WIDTH-1:0] wdata;
      if (TRANSPOSE_B) begin : gen_we_t1
        assign we = wr_en && wr_o == OPW'(o);
        assign wdata = wr_data[i];
      end else begin : gen_we_t0
        assign we = wr_en && wr_i == IPW'(i) && wr_nb == OPIW'(o / IN_PAR);
        assign wdata = wr_data[o%IN_PAR];
      end
      always_ff @(posedge clk) begin
        if (we) mem[wr_addr] <= wdata;
      end
      mult_pipe #(
          .A_WIDTH(XW),
          .B_WIDTH(B_WIDTH),
          .IN_REG (1'b1),
          .OUT_REG(1'b0)
      ) u_mult (
          .clk,
          .en(adv),
          .a (A_SIGNED ? XW'(signed'(operand[i])) : XW'({1'b0, operand[i]})),
          .b (signed'(mem[rd_addr])),
          .p (prod[o][i])
      );
    end
  end

  // the lane selects of the other stream order are not used
  if (TRANSPOSE_B) begin : gen_unused_t1
    logic unused;
    assign unused = ^{wr_i, wr_nb};
  end else begin : gen_unused_t0
    logic unused;
    assign unused = ^wr_o;
  end

  // ---- adder trees (TREE_LEVELS registered levels) ----------------------------------------------
  logic signed [OUT_PAR-1:0][TREE_W-1:0] tree;
  for (genvar o = 0; o < OUT_PAR; o++) begin : gen_tree
    add_tree #(
        .N        (IN_PAR),
        .IN_WIDTH (PROD_W),
        .IN_SIGNED(1'b1),
        .OUT_WIDTH(TREE_W)
    ) u_tree (
        .clk,
        .en      (adv),
        .data_in (prod[o]),
        .data_out(tree[o])
    );
  end

  // a step's flags, delayed alongside the multipliers and the adder trees: bit l after l + 1
  // register levels, bit DL - 1 next to the trees' sums
  logic [DL-1:0] t_valid, t_first, t_last;
  always_ff @(posedge clk) begin
    if (adv) begin
      t_first <= {t_first[DL-2:0], c == '0};
      t_last  <= {t_last[DL-2:0], end_c};
    end
  end
  always_ff @(posedge clk) begin
    if (rst) t_valid <= '0;
    else if (adv) t_valid <= {t_valid[DL-2:0], step};
  end

  // ---- accumulator: the exact dot product of a group leaves on its last step ----------------
  logic signed [OUT_PAR-1:0][ACC_W-1:0] acc, sum;
  always_comb begin
    for (int o = 0; o < OUT_PAR; o++) begin
      sum[o] = (t_first[DL-1] ? '0 : acc[o]) + ACC_W'(signed'(tree[o]));
    end
  end
  always_ff @(posedge clk) begin
    if (adv && t_valid[DL-1]) acc <= sum;
  end

  // ---- scale: the dot product registered, times SCALE (SL register levels) ------------------
  logic signed [OUT_PAR-1:0][SC_W-1:0] scaled;
  for (genvar o = 0; o < OUT_PAR; o++) begin : gen_scale
    if (SCALE == 1) begin : gen_unscaled
      logic signed [ACC_W-1:0] dot;
      always_ff @(posedge clk) begin
        if (adv) begin
          dot <= sum[o];
          scaled[o] <= SC_W'(dot);
        end
      end
    end else begin : gen_scaled
      // the dot product goes into the multipliers' input registers
      mult_pipe #(
          .A_WIDTH(ACC_W),
          .B_WIDTH(SW),
          .IN_REG (1'b1),
          .OUT_REG(1'b0)
      ) u_scale (
          .clk,
          .en(adv),
          .a (sum[o]),
          .b (SW'(SCALE)),
          .p (scaled[o])
      );
    end
  end

  // ---- requantizer (registered) -------------------------------------------------------------
  logic [OUT_PAR-1:0][OUT_WIDTH-1:0] rq;
  for (genvar o = 0; o < OUT_PAR; o++) begin : gen_requant
    fixed_requant_reg #(
        .IN_WIDTH  (SC_W),
        .IN_FRAC   (A_FRAC + B_FRAC + SCALE_FRAC),
        .IN_SIGNED (1'b1),
        .OUT_WIDTH (OUT_WIDTH),
        .OUT_FRAC  (OUT_FRAC),
        .OUT_SIGNED(OUT_SIGNED)
    ) u_requant (
        .clk,
        .en      (adv),
        .data_in (scaled[o]),
        .data_out(rq[o])
    );
  end

  // ---- valid bits of the scale and requantizer levels (bit l after l + 1), the common advance --
  logic [SL:0] r_valid;
  logic rq_valid, out_ready;
  assign rq_valid = r_valid[SL];
  assign adv = !rq_valid || out_ready;
  always_ff @(posedge clk) begin
    if (rst) r_valid <= '0;
    else if (adv) r_valid <= {r_valid[SL-1:0], t_valid[DL-1] && t_last[DL-1]};
  end

  skid_buffer #(
      .LANES(OUT_PAR),
      .WIDTH(OUT_WIDTH)
  ) u_out (
      .clk,
      .rst,
      .data_in       (rq),
      .data_in_valid (rq_valid),
      .data_in_ready (out_ready),
      .data_out,
      .data_out_valid,
      .data_out_ready
  );

endmodule
