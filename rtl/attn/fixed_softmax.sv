// fixed_softmax: row-wise integer softmax, the RTL twin of golden.attention.softmax.
//
// A row of N elements arrives as N / LANES beats. Per row: m = max x; e_j = TABLE[m - x_j] (0
// past the table's last entry); s = sum e_j (exact); r = round_half_up(2**(E_FRAC+R_FRAC) / s) =
// floor((2**(E_FRAC+R_FRAC+1) + s) / (2 s)); p_j = requant(e_j * r), E_FRAC + R_FRAC fraction
// bits, rounded half up and saturated once to the output format.
//
// Three stages, each one beat per cycle, joined by buffers so that rows overlap:
//   1. input: every beat goes into the row buffer while per-lane running maxima are kept; at a
//      row's end a registered max tree gives m (into a small queue);
//   2. exponents: once its m is known, a row is read from the row buffer (the beat and m
//      registered); m - x indexes each lane's table (registered); the exponents (read into a
//      register, then registered once more: a table in block RAM gets its clock-to-out cycle)
//      go into the exponent buffer and through a registered adder tree into the row sum; the
//      sum enters a pipelined divider (attn_divide) whose quotient r goes into a queue. This
//      stage never stalls: a beat leaves the row buffer only when the exponent buffer has room
//      reserved for it (credits);
//   3. output: once its r is known, a row is read from the exponent buffer, multiplied by r
//      (mult_pipe: registered operands and product, 18 x 18 pieces summed when e has more than 17
//      bits), requantized (registered) and offered through a skid_buffer; this stage stalls as
//      a whole only while its result waits there.
// data_in_ready depends only on the row buffer's fill level (a register).
//
// Parameters:
//   N           elements per row (>= 1)
//   LANES       lanes per beat (divides N)
//   IN_WIDTH    bits of an input lane, two's complement (>= 2)
//   IN_FRAC     fraction bits of the input: only the table depends on them (-32 .. 64)
//   OUT_WIDTH, OUT_FRAC, OUT_SIGNED  output format (OUT_SIGNED = 0: unsigned)
//   E_FRAC      fraction bits of the exponents (table entry 0 is 2**E_FRAC)
//   R_FRAC      fraction bits of the reciprocal of the exponent sum
//   TABLE_LEN   table entries, 1 .. 2**IN_WIDTH (entry d for d = m - x < TABLE_LEN, else 0)
//   TABLE_FILE  $readmemh image: TABLE_LEN words of E_FRAC + 1 bits, word d = table entry d
//               (golden.attention.exp_table; sim/memimage.py writes it)
// lint-params: TABLE_FILE="table.memh" TABLE_LEN=4
//
// Latency (no stalls, beats of a row on consecutive cycles): output beat k of a row leaves
//   2 * LOG_LANES + R_FRAC + 2 * (N / LANES) + k + 11 + P cycles after the row's first input
//   beat is taken, LOG_LANES = ceil(log2(LANES)), P = ceil(log2(LE * LR)) the levels summing
//   mult_pipe's pieces of e * r (LE = 1 if E_FRAC + 2 <= 18 else 1 + ceil((E_FRAC - 16) / 17),
//   LR likewise with R_FRAC) (stage 2 starts LOG_LANES + 2 cycles after the row's last input
//   beat, stage 3 LOG_LANES + R_FRAC + 7 cycles after stage 2's last beat of the row, and a beat
//   leaves 4 + P cycles after stage 3 reads it); rows follow each other without gaps.
// Initiation interval: N / LANES cycles per row.
module fixed_softmax #(
    parameter int    N          = 4,   // elements per row
    parameter int    LANES      = 1,   // lanes per beat
    parameter int    IN_WIDTH   = 8,   // input bits (signed)
    parameter int    IN_FRAC    = 4,   // input fraction bits (the table's)
    parameter int    OUT_WIDTH  = 9,   // output bits
    parameter int    OUT_FRAC   = 8,   // output fraction bits
    parameter bit    OUT_SIGNED = 0,   // output is two's complement
    parameter int    E_FRAC     = 14,  // fraction bits of the exponents
    parameter int    R_FRAC     = 12,  // fraction bits of the reciprocal
    parameter int    TABLE_LEN  = 16,  // exponent table entries
    parameter string TABLE_FILE = ""   // exponent table image
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
  localparam int EW = E_FRAC + 1;  // bits of an exponent (unsigned, <= 2**E_FRAC)
  localparam int SUM_W = EW + (N > 1 ? $clog2(N) : 0) + 1;  // exact row sum, signed
  localparam int QW = R_FRAC + 1;  // bits of the reciprocal (<= 2**R_FRAC)
  localparam int DEN_W = SUM_W + 1;  // 2 * sum
  localparam int NUM_W = (E_FRAC + R_FRAC + 2 > SUM_W ? E_FRAC + R_FRAC + 2 : SUM_W) + 1;
  localparam int DW = IN_WIDTH + 1;  // m - x, unsigned
  localparam int IW = TABLE_LEN > 1 ? $clog2(TABLE_LEN + 1) : 1;  // table index (TABLE_LEN: zero)
  localparam int AIW = TABLE_LEN > 1 ? $clog2(TABLE_LEN) : 1;  // table address
  localparam int PROD_W = EW + QW;
  localparam int PROD_FRAC = E_FRAC + R_FRAC;
  // mult_pipe's latency (IN_REG = 1, OUT_REG = 0) for e * r, both widened by a zero sign bit
  localparam int LE = EW + 1 <= 18 ? 1 : 1 + (EW - 1) / 17;  // 18 x 18 pieces of e
  localparam int LR = QW + 1 <= 18 ? 1 : 1 + (QW - 1) / 17;  // and of r
  localparam int ML = 2 + (LE * LR > 1 ? $clog2(LE * LR) : 0);
  // buffers: room for a row plus the beats that arrive while the next stage waits for it
  localparam int D1 = 2 * BPR + LOG_LANES + 4;  // row buffer (stage 1 -> 2)
  localparam int D2 = 2 * BPR + LOG_LANES + QW + 8;  // exponent buffer (stage 2 -> 3)
  localparam int MQ = D1 / BPR + 2;  // row maxima queue
  localparam int RQ = D2 / BPR + 2;  // reciprocal queue
  localparam int P1W = $clog2(D1);
  localparam int P2W = $clog2(D2);
  localparam int C1W = $clog2(D1 + 1);
  localparam int C2W = $clog2(D2 + 1);
  localparam int MQW = $clog2(MQ);
  localparam int RQW = $clog2(RQ);

  // Parameter checks: stop elaboration with a message naming the parameter.
  if (N < 1) begin : gen_bad_n
    $error("fixed_softmax: N must be >= 1, got %0d", N);
  end
  if (LANES < 1 || N % LANES != 0) begin : gen_bad_lanes
    $error("fixed_softmax: LANES=%0d must be >= 1 and divide N=%0d", LANES, N);
  end
  if (IN_WIDTH < 2) begin : gen_bad_in_width
    $error("fixed_softmax: IN_WIDTH must be >= 2 (signed), got %0d", IN_WIDTH);
  end
  if (IN_FRAC < -32 || IN_FRAC > 64) begin : gen_bad_in_frac
    $error("fixed_softmax: IN_FRAC must be in -32..64, got %0d", IN_FRAC);
  end
  if (OUT_WIDTH < (OUT_SIGNED ? 2 : 1)) begin : gen_bad_out_width
    $error("fixed_softmax: OUT_WIDTH must be >= %0d, got %0d", OUT_SIGNED ? 2 : 1, OUT_WIDTH);
  end
  if (E_FRAC < 0 || E_FRAC > 30) begin : gen_bad_e_frac
    $error("fixed_softmax: E_FRAC must be in 0..30, got %0d", E_FRAC);
  end
  if (R_FRAC < 0 || R_FRAC > 30) begin : gen_bad_r_frac
    $error("fixed_softmax: R_FRAC must be in 0..30, got %0d", R_FRAC);
  end
  if (TABLE_LEN < 1 || TABLE_LEN > (1 << IN_WIDTH)) begin : gen_bad_table_len
    $error("fixed_softmax: TABLE_LEN must be in 1..2**IN_WIDTH, got %0d", TABLE_LEN);
  end
  if (TABLE_FILE == "") begin : gen_no_table
    $error("fixed_softmax: TABLE_FILE must name a $readmemh exponent table");
  end

  // ==== stage 1: row buffer and per-lane maxima =================================================
  logic [LANES-1:0][IN_WIDTH-1:0] xbuf[D1];
  logic [P1W-1:0] x_wptr, x_rptr;
  logic [C1W-1:0] x_count;
  logic in_take, x_pop;
  logic [BW-1:0] in_beat;
  logic in_first, in_last;  // in_first: the next beat taken starts a row (a register)
  // maxima in offset binary (x ^ TOP, order-preserving as unsigned numbers), so that every compare
  // is one unsigned carry chain
  localparam logic [IN_WIDTH-1:0] TOP = 1 << (IN_WIDTH - 1);
  logic [LANES-1:0][IN_WIDTH-1:0] lane_max, lane_next;

  assign data_in_ready = x_count != C1W'(D1);
  assign in_take = data_in_valid && data_in_ready;
  assign in_last = in_beat == BW'(BPR - 1);

  always_comb begin
    for (int l = 0; l < LANES; l++) begin
      lane_next[l] = (in_first || (data_in[l] ^ TOP) > lane_max[l]) ? data_in[l] ^ TOP : lane_max[l];
    end
  end

  always_ff @(posedge clk) begin
    if (in_take) begin
      xbuf[x_wptr] <= data_in;
      lane_max <= lane_next;
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      x_wptr <= '0;
      x_rptr <= '0;
      x_count <= '0;
      in_beat <= '0;
      in_first <= 1'b1;
    end else begin
      if (in_take) begin
        x_wptr <= x_wptr == P1W'(D1 - 1) ? '0 : x_wptr + P1W'(1);
        in_beat <= in_last ? '0 : in_beat + BW'(1);
        in_first <= in_last;
      end
      if (x_pop) x_rptr <= x_rptr == P1W'(D1 - 1) ? '0 : x_rptr + P1W'(1);
      x_count <= x_count + C1W'(in_take) - C1W'(x_pop);
    end
  end

  // registered max tree over the lanes at a row's end (level 0 registered at the last beat)
  logic [IN_WIDTH-1:0] mlevel[LOG_LANES+1][LANES];  // offset binary
  logic [LOG_LANES:0] mvalid;
  always_ff @(posedge clk) begin
    for (int l = 0; l < LANES; l++) begin
      if (in_take && in_last) mlevel[0][l] <= lane_next[l];
    end
  end
  always_ff @(posedge clk) begin
    if (rst) mvalid[0] <= 1'b0;
    else mvalid[0] <= in_take && in_last;
  end
  for (genvar v = 0; v < LOG_LANES; v++) begin : gen_max_level
    localparam int IN_COUNT = (LANES + (1 << v) - 1) >> v;
    for (genvar k = 0; k < LANES; k++) begin : gen_node
      if (2 * k + 1 < IN_COUNT) begin : gen_pair
        always_ff @(posedge clk) begin
          mlevel[v+1][k] <= mlevel[v][2*k] > mlevel[v][2*k+1] ? mlevel[v][2*k] : mlevel[v][2*k+1];
        end
      end else if (2 * k < IN_COUNT) begin : gen_single
        always_ff @(posedge clk) mlevel[v+1][k] <= mlevel[v][2*k];
      end else begin : gen_none
        assign mlevel[v+1][k] = '0;
      end
    end
    always_ff @(posedge clk) begin
      if (rst) mvalid[v+1] <= 1'b0;
      else mvalid[v+1] <= mvalid[v];
    end
  end

  // row maxima queue (never overflows: a row's maximum waits only while its beats are buffered)
  logic signed [IN_WIDTH-1:0] mq[MQ];
  logic [MQW-1:0] mq_wptr, mq_rptr;
  logic mq_empty_n;
  logic [MQW:0] mq_count;
  logic mq_pop;
  assign mq_empty_n = mq_count != '0;
  always_ff @(posedge clk) begin
    if (mvalid[LOG_LANES]) mq[mq_wptr] <= mlevel[LOG_LANES][0] ^ TOP;
  end
  always_ff @(posedge clk) begin
    if (rst) begin
      mq_wptr  <= '0;
      mq_rptr  <= '0;
      mq_count <= '0;
    end else begin
      if (mvalid[LOG_LANES]) mq_wptr <= mq_wptr == MQW'(MQ - 1) ? '0 : mq_wptr + MQW'(1);
      if (mq_pop) mq_rptr <= mq_rptr == MQW'(MQ - 1) ? '0 : mq_rptr + MQW'(1);
      mq_count <= mq_count + (MQW + 1)'(mvalid[LOG_LANES]) - (MQW + 1)'(mq_pop);
    end
  end

  // ==== stage 2: exponents, row sums, reciprocals ===============================================
  logic [C2W-1:0] e_credits;  // exponent buffer slots not yet reserved
  logic e_pop;  // stage 3 frees a slot
  logic [BW-1:0] s2_beat;
  logic s2_last;
  assign s2_last = s2_beat == BW'(BPR - 1);
  assign x_pop = x_count != '0 && mq_empty_n && e_credits != '0;
  assign mq_pop = x_pop && s2_last;

  always_ff @(posedge clk) begin
    if (rst) begin
      e_credits <= C2W'(D2);
      s2_beat <= '0;
    end else begin
      e_credits <= e_credits - C2W'(x_pop) + C2W'(e_pop);
      if (x_pop) s2_beat <= s2_last ? '0 : s2_beat + BW'(1);
    end
  end

  // E0: the beat and its row's maximum, read from the row buffer and the queue (registered)
  logic e0_valid, e0_last;
  logic [LANES-1:0][IN_WIDTH-1:0] e0_x;
  logic [IN_WIDTH-1:0] e0_m;
  always_ff @(posedge clk) begin
    e0_x <= xbuf[x_rptr];
    e0_m <= mq[mq_rptr];
    e0_last <= s2_last;
  end
  always_ff @(posedge clk) begin
    if (rst) e0_valid <= 1'b0;
    else e0_valid <= x_pop;
  end

  // E1: table index d = m - x (registered), TABLE_LEN standing for "past the table"
  logic e1_valid, e1_last;
  logic [LANES-1:0][IW-1:0] e1_idx;
  logic [LANES-1:0][DW-1:0] gap;
  always_comb begin
    for (int l = 0; l < LANES; l++) gap[l] = DW'(signed'(e0_m)) - DW'(signed'(e0_x[l]));
  end
  always_ff @(posedge clk) begin
    for (int l = 0; l < LANES; l++) e1_idx[l] <= gap[l] >= DW'(TABLE_LEN) ? IW'(TABLE_LEN) : IW'(gap[l]);
    e1_last <= e0_last;
  end
  always_ff @(posedge clk) begin
    if (rst) e1_valid <= 1'b0;
    else e1_valid <= e0_valid;
  end

  // E2: the exponents (table read into a register: a block RAM's own read register), E3: the
  // exponents registered once more, so that the block RAM's clock-to-out has a cycle of its own
  logic e2_valid, e3_valid, e3_last;
  logic [LANES-1:0][EW-1:0] e3;
  for (genvar l = 0; l < LANES; l++) begin : gen_table
    logic [EW-1:0] table_rom[TABLE_LEN];
    logic [EW-1:0] e2;
    logic past;  // d is past the table: the exponent is 0
    initial $readmemh(TABLE_FILE, table_rom);
    always_ff @(posedge clk) begin
      e2 <= table_rom[AIW'(e1_idx[l])];
      past <= e1_idx[l] == IW'(TABLE_LEN);
      e3[l] <= past ? '0 : e2;
    end
  end
  logic e2_last;
  always_ff @(posedge clk) begin
    e2_last <= e1_last;
    e3_last <= e2_last;
  end
  always_ff @(posedge clk) begin
    if (rst) begin
      e2_valid <= 1'b0;
      e3_valid <= 1'b0;
    end else begin
      e2_valid <= e1_valid;
      e3_valid <= e2_valid;
    end
  end

  // exponent buffer
  logic [LANES-1:0][EW-1:0] ebuf[D2];
  logic [P2W-1:0] e_wptr, e_rptr;
  logic [C2W-1:0] e_count;
  always_ff @(posedge clk) begin
    if (e3_valid) ebuf[e_wptr] <= e3;
  end
  always_ff @(posedge clk) begin
    if (rst) begin
      e_wptr  <= '0;
      e_rptr  <= '0;
      e_count <= '0;
    end else begin
      if (e3_valid) e_wptr <= e_wptr == P2W'(D2 - 1) ? '0 : e_wptr + P2W'(1);
      if (e_pop) e_rptr <= e_rptr == P2W'(D2 - 1) ? '0 : e_rptr + P2W'(1);
      e_count <= e_count + C2W'(e3_valid) - C2W'(e_pop);
    end
  end

  // row sums: a registered adder tree over the lanes, then the row accumulator
  logic signed [SUM_W-1:0] tree, acc, total;
  logic [LOG_LANES:0] t_valid, t_last;
  add_tree #(
      .N        (LANES),
      .IN_WIDTH (EW),
      .IN_SIGNED(1'b0),
      .OUT_WIDTH(SUM_W)
  ) u_sum (
      .clk,
      .en      (1'b1),
      .data_in (e3),
      .data_out(tree)
  );
  assign t_valid[0] = e3_valid;
  assign t_last[0]  = e3_last;
  for (genvar v = 0; v < LOG_LANES; v++) begin : gen_sum_flags
    always_ff @(posedge clk) begin
      t_last[v+1] <= t_last[v];
    end
    always_ff @(posedge clk) begin
      if (rst) t_valid[v+1] <= 1'b0;
      else t_valid[v+1] <= t_valid[v];
    end
  end

  logic total_valid;
  always_ff @(posedge clk) begin
    if (rst) acc <= '0;
    else if (t_valid[LOG_LANES]) acc <= t_last[LOG_LANES] ? '0 : acc + tree;
  end
  always_ff @(posedge clk) begin
    if (t_valid[LOG_LANES]) total <= acc + tree;
  end
  always_ff @(posedge clk) begin
    if (rst) total_valid <= 1'b0;
    else total_valid <= t_valid[LOG_LANES] && t_last[LOG_LANES];
  end

  // r = floor((2**(E+R+1) + s) / (2 s))
  logic [NUM_W-1:0] num;
  logic [DEN_W-1:0] den;
  logic r_valid;
  logic [QW-1:0] r_quot;
  logic unused_tag;
  assign num = (NUM_W'(1) << (E_FRAC + R_FRAC + 1)) + NUM_W'($unsigned(total));
  assign den = {$unsigned(total), 1'b0};
  attn_divide #(
      .NUM_WIDTH(NUM_W),
      .DEN_WIDTH(DEN_W),
      .Q_WIDTH  (QW),
      .TAG_WIDTH(1)
  ) u_recip (
      .clk,
      .rst,
      .in_valid (total_valid),
      .num,
      .den,
      .in_tag   (1'b0),
      .out_valid(r_valid),
      .quotient (r_quot),
      .out_tag  (unused_tag)
  );

  // reciprocal queue (never overflows: a row's reciprocal waits only while its exponents do)
  logic [QW-1:0] rq[RQ];
  logic [RQW-1:0] rq_wptr, rq_rptr;
  logic [RQW:0] rq_count;
  logic rq_pop;
  always_ff @(posedge clk) begin
    if (r_valid) rq[rq_wptr] <= r_quot;
  end
  always_ff @(posedge clk) begin
    if (rst) begin
      rq_wptr  <= '0;
      rq_rptr  <= '0;
      rq_count <= '0;
    end else begin
      if (r_valid) rq_wptr <= rq_wptr == RQW'(RQ - 1) ? '0 : rq_wptr + RQW'(1);
      if (rq_pop) rq_rptr <= rq_rptr == RQW'(RQ - 1) ? '0 : rq_rptr + RQW'(1);
      rq_count <= rq_count + (RQW + 1)'(r_valid) - (RQW + 1)'(rq_pop);
    end
  end

  // ==== stage 3: p = requant(e * r) ===============================================================
  logic adv, out_ready;
  logic [BW-1:0] s3_beat;
  logic s3_last;
  assign s3_last = s3_beat == BW'(BPR - 1);
  assign e_pop = adv && e_count != '0 && rq_count != '0;
  assign rq_pop = e_pop && s3_last;

  always_ff @(posedge clk) begin
    if (rst) s3_beat <= '0;
    else if (e_pop) s3_beat <= s3_last ? '0 : s3_beat + BW'(1);
  end

  // e * r per lane: a mult_pipe whose input registers take the exponent buffer's and the
  // reciprocal queue's words at the read (on ECP5 the MULT18X18D's own registers); both are
  // unsigned, so each operand gets a zero sign bit
  logic [LANES-1:0][PROD_W-1:0] prod;
  logic [LANES-1:0][OUT_WIDTH-1:0] p3;
  for (genvar l = 0; l < LANES; l++) begin : gen_requant
    logic signed [PROD_W+1:0] product;
    mult_pipe #(
        .A_WIDTH(EW + 1),
        .B_WIDTH(QW + 1),
        .IN_REG (1'b1),
        .OUT_REG(1'b0)
    ) u_mult (
        .clk,
        .en(adv),
        .a ({1'b0, ebuf[e_rptr][l]}),
        .b ({1'b0, rq[rq_rptr]}),
        .p (product)
    );
    assign prod[l] = PROD_W'($unsigned(product));  // e * r >= 0 fits PROD_W bits
    logic unused_sign;
    assign unused_sign = ^product[PROD_W+1:PROD_W];
    fixed_requant_reg #(
        .IN_WIDTH  (PROD_W),
        .IN_FRAC   (PROD_FRAC),
        .IN_SIGNED (1'b0),
        .OUT_WIDTH (OUT_WIDTH),
        .OUT_FRAC  (OUT_FRAC),
        .OUT_SIGNED(OUT_SIGNED)
    ) u_requant (
        .clk,
        .en      (adv),
        .data_in (prod[l]),
        .data_out(p3[l])
    );
  end

  // valid bits of the multiplier and requantizer levels (bit v after v + 1), the common advance
  logic [ML:0] p_valid;
  logic p3_valid;
  assign p3_valid = p_valid[ML];
  assign adv = !p3_valid || out_ready;
  always_ff @(posedge clk) begin
    if (rst) p_valid <= '0;
    else if (adv) p_valid <= {p_valid[ML-1:0], e_pop};
  end

  skid_buffer #(
      .LANES(LANES),
      .WIDTH(OUT_WIDTH)
  ) u_out (
      .clk,
      .rst,
      .data_in       (p3),
      .data_in_valid (p3_valid),
      .data_in_ready (out_ready),
      .data_out,
      .data_out_valid,
      .data_out_ready
  );

  logic unused;
  assign unused = unused_tag;
endmodule
