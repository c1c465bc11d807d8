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
//   1. input: every beat goes into the row buffer and through its squares (mult_pipe) and
//      registered adder trees into the row sums S1 and S2; at a row's end a free-running pipeline
//      computes N * S2 and S1**2 (mult_pipe, the same widths so the same latency), V, W, the
//      square root (attn_isqrt) and the rounded reciprocal (attn_divide), and queues (S1, r);
//   2. output: once its (S1, r) is known, a row is read from the row buffer (and registered
//      once more); N * x, minus S1, times r, times gamma (each a mult_pipe with its own operand
//      registers, the last two with doubled product registers, so no multiplier shares a cycle
//      with an adder or a block RAM read), plus the aligned beta, requantized (registered) and
//      offered through a skid_buffer; this stage stalls as a whole only while its result waits
//      there.
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
// Latency (no stalls): output beat k of a row leaves STATS + OUT_LAT + k cycles after the row's
//   last input beat; rows follow each other without gaps. With M(a, b, i, o) = i + 1 + o +
//   ceil(log2(LA * LB)) mult_pipe's latency for a-bit and b-bit operands (LA = 1 if a <= 18 else
//   1 + ceil((a - 18) / 17) limbs, LB likewise), i / o its IN_REG / OUT_REG, L = ceil(log2(N)):
//   STATS = 6 + ceil(log2(LANES)) + ceil(W_BITS / 2) + RS + M(IN_WIDTH, IN_WIDTH, 1, 0)
//           + M(2 IN_WIDTH + L, IN_WIDTH + L, 1, 1),
//   W_BITS = max(2 * IN_WIDTH + 2 L + 2 + 2Z, bits of EPS) + 1 (the bits of W);
//   OUT_LAT = 5 + M(IN_WIDTH, NW, 1, 0) + M(D_W, RS + 2, 1, 1) + M(D_W + RS + 2, G_WIDTH, 1, 1),
//   NW = ceil(log2(N + 1)) + 1, D_W = IN_WIDTH + L + NW.
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
  // mult_pipe's latency for a-bit and b-bit operands with IN_REG = i and OUT_REG = o
  function automatic int mult_lat(int a, int b, int i, int o);
    int la = a <= 18 ? 1 : 1 + (a - 2) / 17;
    int lb = b <= 18 ? 1 : 1 + (b - 2) / 17;
    return i + 1 + o + (la * lb > 1 ? $clog2(la * lb) : 0);
  endfunction

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
  localparam int SQ_LAT = mult_lat(IN_WIDTH, IN_WIDTH, 1, 0);  // a beat to its squares
  localparam int V_LAT = mult_lat(S2_W, S1_W, 1, 1);  // (S1, S2) to S1**2 and N * S2
  localparam int NX_LAT = mult_lat(IN_WIDTH, NW, 1, 0);  // x to N * x
  localparam int DR_LAT = mult_lat(D_W, R_W + 1, 1, 1);  // d to d * r
  localparam int GP_LAT = mult_lat(P_W, G_WIDTH, 1, 1);  // d * r to gamma * d * r
  // row end to its first output step
  localparam int STATS = 6 + LOG_LANES + Q_W + RS + SQ_LAT + V_LAT;
  // output stages (1: the row buffer's read): d is formed at D_AT, gamma and beta are registered
  // beside the products at G_AT and B_AT, then the sum and the requantizer
  localparam int D_AT = 2 + NX_LAT;
  localparam int G_AT = D_AT + DR_LAT;
  localparam int B_AT = G_AT + GP_LAT;
  localparam int O_STAGES = B_AT + 2;
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

  // The beat's squares (mult_pipe, SQ_LAT cycles); the beat and its flags delayed beside them
  // (index k: k cycles after the input)
  logic [SQ_LAT:1] b_valid, b_first, b_last;
  logic [LANES-1:0][IN_WIDTH-1:0] b_x[SQ_LAT+1];
  logic [LANES-1:0][SQ_W-1:0] b_sq;
  assign b_x[0] = data_in;
  always_ff @(posedge clk) begin
    for (int k = 1; k <= SQ_LAT; k++) b_x[k] <= b_x[k-1];
    b_first <= SQ_LAT'({b_first, in_beat == '0});
    b_last  <= SQ_LAT'({b_last, in_beat == BW'(BPR - 1)});
  end
  always_ff @(posedge clk) begin
    if (rst) b_valid <= '0;
    else b_valid <= SQ_LAT'({b_valid, in_take});
  end
  for (genvar l = 0; l < LANES; l++) begin : gen_square
    mult_pipe #(
        .A_WIDTH(IN_WIDTH),
        .B_WIDTH(IN_WIDTH),
        .IN_REG (1'b1),
        .OUT_REG(1'b0)
    ) u_square (
        .clk,
        .en(1'b1),
        .a (data_in[l]),
        .b (data_in[l]),
        .p (b_sq[l])
    );
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
      .data_in (b_x[SQ_LAT]),
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
      .data_in (b_sq),
      .data_out(t2)
  );
  logic [LOG_LANES:0] t_valid, t_first, t_last;
  assign t_valid[0] = b_valid[SQ_LAT];
  assign t_first[0] = b_first[SQ_LAT];
  assign t_last[0]  = b_last[SQ_LAT];
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

  // S1**2 and N * S2 (two mult_pipe of the same widths, V_LAT cycles), then V, then W; S1 and
  // the valid flag delayed beside them (index k: k cycles after T0)
  localparam int T_END = V_LAT + 2;
  logic [S2_W+S1_W-1:0] s1_sq_full, n_s2_full;
  logic signed [V_W-1:0] s1_sq, n_s2, v_row;
  logic [RAD_W-1:0] w_row;
  logic [T_END:1] tv;
  logic signed [S1_W-1:0] ts1[T_END+1];
  mult_pipe #(
      .A_WIDTH(S2_W),
      .B_WIDTH(S1_W),
      .IN_REG (1'b1),
      .OUT_REG(1'b1)
  ) u_s1_sq (
      .clk,
      .en(1'b1),
      .a (S2_W'(s1_row)),
      .b (s1_row),
      .p (s1_sq_full)
  );
  mult_pipe #(
      .A_WIDTH(S2_W),
      .B_WIDTH(S1_W),
      .IN_REG (1'b1),
      .OUT_REG(1'b1)
  ) u_n_s2 (
      .clk,
      .en(1'b1),
      .a (s2_row),
      .b (S1_W'(N)),
      .p (n_s2_full)
  );
  // both exact products fit V_W bits
  assign s1_sq = V_W'(s1_sq_full);
  assign n_s2  = V_W'(n_s2_full);
  if (S2_W + S1_W > V_W) begin : gen_unused_top
    logic unused_products;
    assign unused_products = ^{s1_sq_full[S2_W+S1_W-1:V_W], n_s2_full[S2_W+S1_W-1:V_W]};
  end
  assign ts1[0] = s1_row;
  always_ff @(posedge clk) begin
    v_row <= n_s2 - s1_sq;
    w_row <= (RAD_W'($unsigned(v_row)) << (2 * Z)) + RAD_W'(EPS);
    for (int k = 1; k <= T_END; k++) ts1[k] <= ts1[k-1];
  end
  always_ff @(posedge clk) begin
    if (rst) tv <= '0;
    else tv <= T_END'({tv, t0_valid});
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
      .in_valid (tv[T_END]),
      .radicand (w_row == '0 ? RAD_W'(1) : w_row),
      .in_tag   (ts1[T_END]),
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

  // Output stages under adv (index k: the register level k cycles after the row buffer's read).
  // 1: x (the row buffer's read, which synthesis may put inside a block RAM), S1, r and the beat
  // position registered; 2: x again, a plain register next to the block RAM; D_AT: N * x
  // (mult_pipe), minus S1 into the operand registers of d * r; G_AT: d * r (mult_pipe), gamma
  // read beside it; B_AT: gamma * d * r (mult_pipe), beta read beside it; B_AT + 1: + beta;
  // O_STAGES: requantized.
  logic [LANES-1:0][IN_WIDTH-1:0] o1_x, o2_x;
  logic [S1_W+R_W-1:0] o_row[D_AT+1];  // {S1, r} of the beat's row
  logic [BW-1:0] o_beat[B_AT];  // the beat's position in its row
  logic [LANES*G_WIDTH-1:0] o_g;
  logic [LANES*B_WIDTH-1:0] o_b;
  logic signed [S1_W-1:0] d_s1;
  logic [R_W-1:0] d_r;
  logic [LANES-1:0][OUT_WIDTH-1:0] o6;
  logic [O_STAGES:1] o_valid;

  assign o_beat[0] = out_beat;
  assign o_row[0] = {sq_s1[sq_rptr], sq_r[sq_rptr]};
  assign {d_s1, d_r} = o_row[D_AT];
  always_ff @(posedge clk) begin
    if (adv) begin
      o1_x <= xbuf[x_rptr];
      o2_x <= o1_x;
      for (int k = 1; k <= D_AT; k++) o_row[k] <= o_row[k-1];
      for (int k = 1; k < B_AT; k++) o_beat[k] <= o_beat[k-1];
      o_g <= gamma_mem[o_beat[G_AT-1]];
      o_b <= beta_mem[o_beat[B_AT-1]];
    end
  end

  for (genvar l = 0; l < LANES; l++) begin : gen_lane
    logic signed [IN_WIDTH+NW-1:0] nx;
    logic signed [D_W-1:0] d;
    logic signed [P_W-1:0] p;
    logic signed [GP_W-1:0] gp;
    logic signed [ACC_W-1:0] acc;
    mult_pipe #(
        .A_WIDTH(IN_WIDTH),
        .B_WIDTH(NW),
        .IN_REG (1'b1),
        .OUT_REG(1'b0)
    ) u_nx (
        .clk,
        .en(adv),
        .a (o2_x[l]),
        .b (NW'(N)),
        .p (nx)
    );
    assign d = D_W'(nx) - D_W'(d_s1);
    mult_pipe #(
        .A_WIDTH(D_W),
        .B_WIDTH(R_W + 1),
        .IN_REG (1'b1),
        .OUT_REG(1'b1)
    ) u_dr (
        .clk,
        .en(adv),
        .a (d),
        .b ({1'b0, d_r}),
        .p (p)
    );
    mult_pipe #(
        .A_WIDTH(P_W),
        .B_WIDTH(G_WIDTH),
        .IN_REG (1'b1),
        .OUT_REG(1'b1)
    ) u_gp (
        .clk,
        .en(adv),
        .a (p),
        .b (o_g[l*G_WIDTH+:G_WIDTH]),
        .p (gp)
    );
    always_ff @(posedge clk) begin
      if (adv) acc <= ACC_W'(gp) + (ACC_W'(signed'(o_b[l*B_WIDTH+:B_WIDTH])) <<< BSHIFT);
    end

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
        .data_in (acc),
        .data_out(o6[l])
    );
  end

  assign adv = !o_valid[O_STAGES] || out_ready;
  always_ff @(posedge clk) begin
    if (rst) o_valid <= '0;
    else if (adv) o_valid <= O_STAGES'({o_valid, x_pop});
  end

  skid_buffer #(
      .LANES(LANES),
      .WIDTH(OUT_WIDTH)
  ) u_out (
      .clk,
      .rst,
      .data_in       (o6),
      .data_in_valid (o_valid[O_STAGES]),
      .data_in_ready (out_ready),
      .data_out,
      .data_out_valid,
      .data_out_ready
  );
endmodule
