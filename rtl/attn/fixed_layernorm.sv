// fixed_layernorm: integer layer norm over rows of N channels with per-channel gamma and beta, the
// RTL twin of golden.attention.layernorm.
//
// A row (one token's N channels) arrives as N / LANES beats. Per row, exactly: S1 = sum x,
// S2 = sum x**2, d_c = N * x_c - S1, W = ((N * S2 - S1**2) << 2Z) + EPS, q = isqrt(max(W, 1)),
// r = floor((2**(RS+Z+1) + q) / (2 q)) (round half up of 2**(RS+Z) / q); then per channel
// y_c = requant(gamma_c * d_c * r + (beta_c << (G_FRAC + RS - B_FRAC))), G_FRAC + RS fraction
// bits, rounded half up and saturated once to the output format.
//
// Two stages joined by the row buffer:
//   1. input: every beat goes into the row buffer and through registered squares and registered
//      adder trees into the row sums S1 and S2; at a row's end a free-running pipeline computes
//      N * S2 - S1**2 (registered multipliers), W, the square root (attn_isqrt) and the rounded
//      reciprocal (attn_divide), and queues (S1, r);
//   2. output: once its (S1, r) is known, a row is read from the row buffer; N * x - S1, times r,
//      times gamma (registered operands and products), plus the aligned beta, requantized
//      (registered) and offered through a skid_buffer; this stage stalls as a whole only while
//      its result waits there.
// data_in_ready depends only on the row buffer's fill level (a register).
//
// Parameters:
//   N           channels per row (>= 1)
//   LANES       lanes per beat (divides N)
//   IN_WIDTH, IN_FRAC     input format (two's complement)
//   G_WIDTH, G_FRAC       gamma format (two's complement)
//   B_WIDTH, B_FRAC       beta format (two's complement), B_FRAC <= G_FRAC + RS
//   OUT_WIDTH, OUT_FRAC, OUT_SIGNED  output format
//   RS          fraction bits of the reciprocal square root (golden.attention.layernorm_fracs)
//   Z           extra fraction bits of the square root (the variance is shifted by 2Z)
//   EPS_HI, EPS_LO  eps as the integer added to the shifted variance (golden.attention.layernorm_eps),
//               EPS_HI * 2**31 + EPS_LO, each 0 .. 2**31 - 1 (a parameter override carries 32 bits)
//   GAMMA_FILE, BETA_FILE  $readmemh images: N / LANES words of LANES * G_WIDTH (B_WIDTH) bits,
//               word k holds channels k * LANES .. k * LANES + LANES - 1, lane 0 in the low bits
// lint-params: GAMMA_FILE="gamma.memh" BETA_FILE="beta.memh"
//
// Latency (no stalls): output beat k of a row leaves STATS + 7 + k cycles after the row's last
//   input beat, STATS = 9 + ceil(log2(LANES)) + ceil(W_BITS / 2) + RS with W_BITS the bits of W,
//   max(2 * IN_WIDTH + 2 * ceil(log2(N)) + 2 + 2Z, bits of EPS) + 1; rows follow each other
//   without gaps.
// Initiation interval: N / LANES cycles per row.
module fixed_layernorm #(
    parameter int    N          = 4,   // channels per row
    parameter int    LANES      = 1,   // lanes per beat
    parameter int    IN_WIDTH   = 8,   // input bits
    parameter int    IN_FRAC    = 4,   // input fraction bits
    parameter int    G_WIDTH    = 8,   // gamma bits
    parameter int    G_FRAC     = 6,   // gamma fraction bits
    parameter int    B_WIDTH    = 8,   // beta bits
    parameter int    B_FRAC     = 6,   // beta fraction bits
    parameter int    OUT_WIDTH  = 8,   // output bits
    parameter int    OUT_FRAC   = 4,   // output fraction bits
    parameter bit    OUT_SIGNED = 1,   // output is two's complement
    parameter int    RS         = 16,  // fraction bits of the reciprocal square root
    parameter int    Z          = 8,   // extra fraction bits of the square root
    parameter int    EPS_HI     = 0,   // eps, scaled: the bits above the low 31
    parameter int    EPS_LO     = 0,   // eps, scaled: the low 31 bits
    parameter string GAMMA_FILE = "",  // gamma image
    parameter string BETA_FILE  = ""   // beta image
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
  localparam int BPR = LANES > 0 ? N / LANES : 1;  // beats per row
  localparam int BW = BPR > 1 ? $clog2(BPR) : 1;
  localparam int LOG_LANES = LANES > 1 ? $clog2(LANES) : 0;
  localparam int LOG_N = N > 1 ? $clog2(N) : 0;
  localparam int SQ_W = 2 * IN_WIDTH;  // a square, signed
  localparam int S1_W = IN_WIDTH + LOG_N;  // row sum
  localparam int S2_W = SQ_W + LOG_N;  // row sum of squares
  localparam int NW = $clog2(N + 1) + 1;  // N as a signed number
  localparam int V_W = 2 * IN_WIDTH + 2 * LOG_N + 2;  // N * S2 - S1**2 (and N * S2), signed
  localparam logic [63:0] EPS = (64'(EPS_HI) << 31) + 64'(EPS_LO);
  localparam int EPS_W = $clog2(EPS + 64'd1);
  localparam int RAD_W = (V_W + 2 * Z > EPS_W ? V_W + 2 * Z : EPS_W) + 1;  // W = (V << 2Z) + EPS
  localparam int Q_W = (RAD_W + 1) / 2;  // isqrt(W)
  localparam int R_W = RS + 1;  // r <= 2**RS whenever some d is not 0
  localparam int NUM_W = (RS + Z + 2 > Q_W + 1 ? RS + Z + 2 : Q_W + 1) + 1;
  localparam int D_W = IN_WIDTH + LOG_N + NW;  // N * x - S1, signed
  localparam int P_W = D_W + R_W + 1;  // d * r, signed
  localparam int GP_W = P_W + G_WIDTH;  // gamma * d * r
  localparam int BSHIFT = G_FRAC + RS - B_FRAC;
  localparam int ACC_W = (GP_W > B_WIDTH + BSHIFT ? GP_W : B_WIDTH + BSHIFT) + 1;
  localparam int STATS = 9 + LOG_LANES + Q_W + RS;  // row end to its first output step
  localparam int D1 = 2 * BPR + STATS + 4;  // row buffer
  localparam int SQ = D1 / BPR + 2;  // (S1, r) queue
  localparam int P1W = $clog2(D1);
  localparam int C1W = $clog2(D1 + 1);
  localparam int SQW = $clog2(SQ);

  // Parameter checks: stop elaboration with a message naming the parameter.
  if (N < 1) begin : gen_bad_n
    $error("fixed_layernorm: N must be >= 1, got %0d", N);
  end
  if (LANES < 1 || N % LANES != 0) begin : gen_bad_lanes
    $error("fixed_layernorm: LANES=%0d must be >= 1 and divide N=%0d", LANES, N);
  end
  if (IN_WIDTH < 2 || G_WIDTH < 2 || B_WIDTH < 2) begin : gen_bad_width
    $error("fixed_layernorm: IN_WIDTH=%0d, G_WIDTH=%0d and B_WIDTH=%0d must be >= 2 (signed)",
           IN_WIDTH, G_WIDTH, B_WIDTH);
  end
  if (IN_FRAC < -32 || IN_FRAC > 64) begin : gen_bad_in_frac
    $error("fixed_layernorm: IN_FRAC must be in -32..64, got %0d", IN_FRAC);
  end
  if (OUT_WIDTH < (OUT_SIGNED ? 2 : 1)) begin : gen_bad_out_width
    $error("fixed_layernorm: OUT_WIDTH must be >= %0d, got %0d", OUT_SIGNED ? 2 : 1, OUT_WIDTH);
  end
  if (RS < 0 || Z < 0) begin : gen_bad_rs
    $error("fixed_layernorm: RS=%0d and Z=%0d must be >= 0", RS, Z);
  end
  if (BSHIFT < 0) begin : gen_bad_b_frac
    $error("fixed_layernorm: B_FRAC=%0d must be <= G_FRAC + RS = %0d", B_FRAC, G_FRAC + RS);
  end
  if (EPS_HI < 0 || EPS_LO < 0) begin : gen_bad_eps
    $error("fixed_layernorm: EPS_HI=%0d and EPS_LO=%0d must be >= 0", EPS_HI, EPS_LO);
  end
  if (GAMMA_FILE == "" || BETA_FILE == "") begin : gen_no_images
    $error("fixed_layernorm: GAMMA_FILE and BETA_FILE must name $readmemh images");
  end

  // ==== stage 1: row buffer, row sums, per-row statistics =======================================
  logic [LANES-1:0][IN_WIDTH-1:0] xbuf[D1];
  logic [P1W-1:0] x_wptr, x_rptr;
  logic [C1W-1:0] x_count;
  logic in_take, x_pop;
  logic [BW-1:0] in_beat;

  assign data_in_ready = x_count != C1W'(D1);
  assign in_take = data_in_valid && data_in_ready;

  always_ff @(posedge clk) begin
    if (in_take) xbuf[x_wptr] <= data_in;
  end
  always_ff @(posedge clk) begin
    if (rst) begin
      x_wptr <= '0;
      x_rptr <= '0;
      x_count <= '0;
      in_beat <= '0;
    end else begin
      if (in_take) begin
        x_wptr <= x_wptr == P1W'(D1 - 1) ? '0 : x_wptr + P1W'(1);
        in_beat <= in_beat == BW'(BPR - 1) ? '0 : in_beat + BW'(1);
      end
      if (x_pop) x_rptr <= x_rptr == P1W'(D1 - 1) ? '0 : x_rptr + P1W'(1);
      x_count <= x_count + C1W'(in_take) - C1W'(x_pop);
    end
  end

  // Q1: the beat registered; Q2: its squares (registered multiplier) and the beat again
  logic q1_valid, q1_first, q1_last, q2_valid, q2_first, q2_last;
  logic [LANES-1:0][IN_WIDTH-1:0] q1_x, q2_x;
  logic [LANES-1:0][SQ_W-1:0] q2_sq;
  always_ff @(posedge clk) begin
    q1_x <= data_in;
    q1_first <= in_beat == '0;
    q1_last <= in_beat == BW'(BPR - 1);
    q2_x <= q1_x;
    q2_first <= q1_first;
    q2_last <= q1_last;
    for (int l = 0; l < LANES; l++) q2_sq[l] <= SQ_W'(signed'(q1_x[l])) * SQ_W'(signed'(q1_x[l]));
  end
  always_ff @(posedge clk) begin
    if (rst) begin
      q1_valid <= 1'b0;
      q2_valid <= 1'b0;
    end else begin
      q1_valid <= in_take;
      q2_valid <= q1_valid;
    end
  end

  logic signed [S1_W-1:0] t1, s1_acc, s1_row;
  logic signed [S2_W-1:0] t2, s2_acc, s2_row;
  add_tree #(
      .N        (LANES),
      .IN_WIDTH (IN_WIDTH),
      .IN_SIGNED(1'b1),
      .OUT_WIDTH(S1_W)
  ) u_sum (
      .clk,
      .en      (1'b1),
      .data_in (q2_x),
      .data_out(t1)
  );
  add_tree #(
      .N        (LANES),
      .IN_WIDTH (SQ_W),
      .IN_SIGNED(1'b1),
      .OUT_WIDTH(S2_W)
  ) u_sum_sq (
      .clk,
      .en      (1'b1),
      .data_in (q2_sq),
      .data_out(t2)
  );
  logic [LOG_LANES:0] t_valid, t_first, t_last;
  assign t_valid[0] = q2_valid;
  assign t_first[0] = q2_first;
  assign t_last[0]  = q2_last;
  for (genvar v = 0; v < LOG_LANES; v++) begin : gen_flags
    always_ff @(posedge clk) begin
      t_first[v+1] <= t_first[v];
      t_last[v+1]  <= t_last[v];
    end
    always_ff @(posedge clk) begin
      if (rst) t_valid[v+1] <= 1'b0;
      else t_valid[v+1] <= t_valid[v];
    end
  end

  // T0: row sums (the accumulators restart at a row's first beat)
  logic signed [S1_W-1:0] s1_next;
  logic signed [S2_W-1:0] s2_next;
  logic t0_valid;
  assign s1_next = (t_first[LOG_LANES] ? '0 : s1_acc) + t1;
  assign s2_next = (t_first[LOG_LANES] ? '0 : s2_acc) + t2;
  always_ff @(posedge clk) begin
    if (t_valid[LOG_LANES]) begin
      s1_acc <= s1_next;
      s2_acc <= s2_next;
    end
    s1_row <= s1_next;
    s2_row <= s2_next;
  end
  always_ff @(posedge clk) begin
    if (rst) t0_valid <= 1'b0;
    else t0_valid <= t_valid[LOG_LANES] && t_last[LOG_LANES];
  end

  // T1: S1**2 and N * S2 (registered products); T2: V; T3: W
  logic t1_valid, t2_valid, t3_valid;
  logic signed [V_W-1:0] s1_sq, n_s2, v_row;
  logic [RAD_W-1:0] w_row;
  logic signed [S1_W-1:0] t1_s1, t2_s1, t3_s1;
  always_ff @(posedge clk) begin
    s1_sq <= V_W'(s1_row) * V_W'(s1_row);
    n_s2 <= V_W'(s2_row) * V_W'(N);
    v_row <= n_s2 - s1_sq;
    w_row <= (RAD_W'($unsigned(v_row)) << (2 * Z)) + RAD_W'(EPS);
    t1_s1 <= s1_row;
    t2_s1 <= t1_s1;
    t3_s1 <= t2_s1;
  end
  always_ff @(posedge clk) begin
    if (rst) begin
      t1_valid <= 1'b0;
      t2_valid <= 1'b0;
      t3_valid <= 1'b0;
    end else begin
      t1_valid <= t0_valid;
      t2_valid <= t1_valid;
      t3_valid <= t2_valid;
    end
  end

  // q = isqrt(max(W, 1))
  logic q_valid;
  logic [Q_W-1:0] q_root;
  logic [S1_W-1:0] q_s1;
  attn_isqrt #(
      .WIDTH    (RAD_W),
      .TAG_WIDTH(S1_W)
  ) u_sqrt (
      .clk,
      .rst,
      .in_valid (t3_valid),
      .radicand (w_row == '0 ? RAD_W'(1) : w_row),
      .in_tag   (t3_s1),
      .out_valid(q_valid),
      .root     (q_root),
      .out_tag  (q_s1)
  );

  // T4: dividend and divisor registered; r = floor((2**(RS+Z+1) + q) / (2q))
  logic t4_valid;
  logic [NUM_W-1:0] num;
  logic [Q_W:0] den;
  logic [S1_W-1:0] t4_s1;
  always_ff @(posedge clk) begin
    num   <= (NUM_W'(1) << (RS + Z + 1)) + NUM_W'(q_root);
    den   <= {q_root, 1'b0};
    t4_s1 <= q_s1;
  end
  always_ff @(posedge clk) begin
    if (rst) t4_valid <= 1'b0;
    else t4_valid <= q_valid;
  end

  logic r_valid;
  logic [R_W-1:0] r_quot;
  logic [S1_W-1:0] r_s1;
  attn_divide #(
      .NUM_WIDTH(NUM_W),
      .DEN_WIDTH(Q_W + 1),
      .Q_WIDTH  (R_W),
      .TAG_WIDTH(S1_W)
  ) u_recip (
      .clk,
      .rst,
      .in_valid (t4_valid),
      .num,
      .den,
      .in_tag   (t4_s1),
      .out_valid(r_valid),
      .quotient (r_quot),
      .out_tag  (r_s1)
  );

  // (S1, r) queue (never overflows: a row's statistics wait only while its beats are buffered)
  logic [S1_W-1:0] sq_s1[SQ];
  logic [R_W-1:0] sq_r[SQ];
  logic [SQW-1:0] sq_wptr, sq_rptr;
  logic [SQW:0] sq_count;
  logic sq_pop;
  always_ff @(posedge clk) begin
    if (r_valid) begin
      sq_s1[sq_wptr] <= r_s1;
      sq_r[sq_wptr]  <= r_quot;
    end
  end
  always_ff @(posedge clk) begin
    if (rst) begin
      sq_wptr  <= '0;
      sq_rptr  <= '0;
      sq_count <= '0;
    end else begin
      if (r_valid) sq_wptr <= sq_wptr == SQW'(SQ - 1) ? '0 : sq_wptr + SQW'(1);
      if (sq_pop) sq_rptr <= sq_rptr == SQW'(SQ - 1) ? '0 : sq_rptr + SQW'(1);
      sq_count <= sq_count + (SQW + 1)'(r_valid) - (SQW + 1)'(sq_pop);
    end
  end

  // ==== stage 2: y = requant(gamma * (N x - S1) * r + beta) =====================================
  logic [LANES*G_WIDTH-1:0] gamma_mem[BPR];
  logic [LANES*B_WIDTH-1:0] beta_mem[BPR];
  initial $readmemh(GAMMA_FILE, gamma_mem);
  initial $readmemh(BETA_FILE, beta_mem);

  logic adv, out_ready;
  logic [BW-1:0] out_beat;
  logic out_last;
  assign out_last = out_beat == BW'(BPR - 1);
  assign x_pop = adv && x_count != '0 && sq_count != '0;
  assign sq_pop = x_pop && out_last;
  always_ff @(posedge clk) begin
    if (rst) out_beat <= '0;
    else if (x_pop) out_beat <= out_last ? '0 : out_beat + BW'(1);
  end

  // O1: x, S1, r, gamma, beta registered; O2: d; O3: d * r; O4: gamma * d * r; O5: + beta;
  // O6: requantized
  logic [LANES-1:0][IN_WIDTH-1:0] o1_x;
  logic signed [S1_W-1:0] o1_s1;
  logic [R_W-1:0] o1_r, o2_r;
  logic [LANES*G_WIDTH-1:0] o1_g, o2_g, o3_g;
  logic [LANES*B_WIDTH-1:0] o1_b, o2_b, o3_b, o4_b;
  logic signed [LANES-1:0][D_W-1:0] o2_d;
  logic signed [LANES-1:0][P_W-1:0] o3_p;
  logic signed [LANES-1:0][GP_W-1:0] o4_gp;
  logic signed [LANES-1:0][ACC_W-1:0] o5_acc;
  logic [LANES-1:0][OUT_WIDTH-1:0] o6;
  logic o1_valid, o2_valid, o3_valid, o4_valid, o5_valid, o6_valid;

  always_ff @(posedge clk) begin
    if (adv) begin
      o1_x  <= xbuf[x_rptr];
      o1_s1 <= sq_s1[sq_rptr];
      o1_r  <= sq_r[sq_rptr];
      o1_g  <= gamma_mem[out_beat];
      o1_b  <= beta_mem[out_beat];
      for (int l = 0; l < LANES; l++) begin
        o2_d[l] <= D_W'(signed'(o1_x[l])) * D_W'(N) - D_W'(o1_s1);
        o3_p[l] <= P_W'(signed'(o2_d[l])) * P_W'({1'b0, o2_r});
        o4_gp[l] <= GP_W'(signed'(o3_p[l])) * GP_W'(signed'(o3_g[l*G_WIDTH+:G_WIDTH]));
        o5_acc[l] <= ACC_W'(signed'(o4_gp[l]))
            + (ACC_W'(signed'(o4_b[l*B_WIDTH+:B_WIDTH])) <<< BSHIFT);
      end
      o2_r <= o1_r;
      o2_g <= o1_g;
      o3_g <= o2_g;
      o2_b <= o1_b;
      o3_b <= o2_b;
      o4_b <= o3_b;
    end
  end

  for (genvar l = 0; l < LANES; l++) begin : gen_requant
    fixed_requant_reg #(
        .IN_WIDTH  (ACC_W),
        .IN_FRAC   (G_FRAC + RS),
        .IN_SIGNED (1'b1),
        .OUT_WIDTH (OUT_WIDTH),
        .OUT_FRAC  (OUT_FRAC),
        .OUT_SIGNED(OUT_SIGNED)
    ) u_requant (
        .clk,
        .en      (adv),
        .data_in (o5_acc[l]),
        .data_out(o6[l])
    );
  end

  assign adv = !o6_valid || out_ready;
  always_ff @(posedge clk) begin
    if (rst) begin
      o1_valid <= 1'b0;
      o2_valid <= 1'b0;
      o3_valid <= 1'b0;
      o4_valid <= 1'b0;
      o5_valid <= 1'b0;
      o6_valid <= 1'b0;
    end else if (adv) begin
      o1_valid <= x_pop;
      o2_valid <= o1_valid;
      o3_valid <= o2_valid;
      o4_valid <= o3_valid;
      o5_valid <= o4_valid;
      o6_valid <= o5_valid;
    end
  end

  skid_buffer #(
      .LANES(LANES),
      .WIDTH(OUT_WIDTH)
  ) u_out (
      .clk,
      .rst,
      .data_in       (o6),
      .data_in_valid (o6_valid),
      .data_in_ready (out_ready),
      .data_out,
      .data_out_valid,
      .data_out_ready
  );
endmodule
