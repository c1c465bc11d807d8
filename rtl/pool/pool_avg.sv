// pool_avg: per-lane average over every WINDOW consecutive beats (the reduction of average
// pooling, after a conv_window), the RTL twin of golden.pool.avg_reduce.
//
// Beats arrive in groups of WINDOW; the exact sum of each lane is kept, multiplied by the
// constant RECIP = round_half_up(2**RECIP_FRAC / WINDOW) (computed at elaboration), and the
// product, which has IN_FRAC + RECIP_FRAC fraction bits, goes through fixed_requant_reg (round half
// up, saturation) to the output format. Pipelined: the group's sum is registered, multiplied by
// mult_pipe (registered 18 x 18 pieces), requantized into a register and offered by a skid_buffer,
// so data_in_ready never depends on data_out_ready in the same cycle. The result is the exact mean, requantized, when WINDOW is
// a power of two; otherwise it approximates it (see golden/pool.py).
//
// Parameters:
//   CHANNELS    lanes per beat (>= 1)
//   IN_WIDTH    bits per input lane (>= 1; >= 2 when IN_SIGNED)
//   IN_FRAC     fraction bits of the input: a lane q means q * 2**-IN_FRAC
//   IN_SIGNED   1: input lanes are two's complement, 0: unsigned (e.g. after ReLU)
//   OUT_WIDTH   bits per output lane (>= 1; >= 2 when OUT_SIGNED)
//   OUT_FRAC    fraction bits of the output
//   OUT_SIGNED  1: output lanes are two's complement, 0: unsigned (negative results become 0)
//   WINDOW      beats per group (>= 1)
//   RECIP_FRAC  fraction bits of the reciprocal constant, ceil(log2(WINDOW)) .. 32
//
// Latency: M + 3 cycles from a group's last beat to its average: the sum's register, M = 1 +
//   ceil(log2(LA * LB)) product levels (LA = 1 if IN_WIDTH + 1 + ceil(log2(WINDOW)) <= 18 else
//   1 + ceil((that - 18) / 17), LB likewise for RECIP_FRAC + 2 bits), the requantizer's register,
//   the skid_buffer.
// Initiation interval: WINDOW cycles per output beat (one input beat per cycle).
module pool_avg #(
    parameter int CHANNELS   = 1,   // lanes per beat
    parameter int IN_WIDTH   = 8,   // input bits
    parameter int IN_FRAC    = 4,   // input fraction bits
    parameter bit IN_SIGNED  = 1,   // input is two's complement
    parameter int OUT_WIDTH  = 8,   // output bits
    parameter int OUT_FRAC   = 4,   // output fraction bits
    parameter bit OUT_SIGNED = 1,   // output is two's complement
    parameter int WINDOW     = 4,   // beats per group
    parameter int RECIP_FRAC = 16   // fraction bits of the reciprocal of WINDOW
) (
    input  logic                               clk,
    input  logic                               rst,
    input  logic [CHANNELS-1:0][ IN_WIDTH-1:0] data_in,
    input  logic                               data_in_valid,
    output logic                               data_in_ready,
    output logic [CHANNELS-1:0][OUT_WIDTH-1:0] data_out,
    output logic                               data_out_valid,
    input  logic                               data_out_ready
);
  localparam int CW = WINDOW > 1 ? $clog2(WINDOW) : 1;
  localparam int GROWTH = WINDOW > 1 ? $clog2(WINDOW) : 0;
  localparam int SUM_W = IN_WIDTH + 1 + GROWTH;  // exact signed sum of a window
  localparam int RW = RECIP_FRAC + 2;  // the constant (<= 2**RECIP_FRAC) as a signed number
  localparam int PROD_W = SUM_W + RW;
  // round_half_up(2**RECIP_FRAC / WINDOW) = floor((2**(RECIP_FRAC+1) + WINDOW) / (2*WINDOW))
  localparam longint RECIP = WINDOW > 0
      ? ((longint'(1) << (RECIP_FRAC + 1)) + longint'(WINDOW)) / (longint'(2) * longint'(WINDOW)) : 0;

  // Parameter checks: stop elaboration with a message naming the parameter.
  if (CHANNELS < 1) begin : gen_bad_channels
    $error("pool_avg: CHANNELS must be >= 1, got %0d", CHANNELS);
  end
  if (IN_WIDTH < (IN_SIGNED ? 2 : 1)) begin : gen_bad_in_width
    $error("pool_avg: IN_WIDTH must be >= %0d, got %0d", IN_SIGNED ? 2 : 1, IN_WIDTH);
  end
  if (OUT_WIDTH < (OUT_SIGNED ? 2 : 1)) begin : gen_bad_out_width
    $error("pool_avg: OUT_WIDTH must be >= %0d, got %0d", OUT_SIGNED ? 2 : 1, OUT_WIDTH);
  end
  if (WINDOW < 1) begin : gen_bad_window
    $error("pool_avg: WINDOW must be >= 1, got %0d", WINDOW);
  end
  if (RECIP_FRAC < GROWTH || RECIP_FRAC > 32) begin : gen_bad_recip_frac
    $error("pool_avg: RECIP_FRAC must be in %0d..32 (ceil(log2(WINDOW=%0d))..32), got %0d", GROWTH,
           WINDOW, RECIP_FRAC);
  end

  // mult_pipe's latency without input registers: 1 + ceil(log2(limbs of the sum * of RECIP))
  localparam int LA = SUM_W <= 18 ? 1 : 1 + (SUM_W - 2) / 17;
  localparam int LB = RW <= 18 ? 1 : 1 + (RW - 2) / 17;
  localparam int MULT_LAT = 1 + (LA * LB > 1 ? $clog2(LA * LB) : 0);

  logic [CW-1:0] count;  // beats of the current group taken so far
  logic [CHANNELS-1:0][SUM_W-1:0] sum;  // running sums (two's complement)
  logic [CHANNELS-1:0][OUT_WIDTH-1:0] result;
  logic last, take, advance, result_valid, result_ready;

  // A group's last beat enters the pipeline: the sum's register, mult_pipe's levels,
  // fixed_requant_reg's register, then a skid_buffer. Other beats only update the sums.
  pipe_ctrl #(
      .STAGES(MULT_LAT + 2)
  ) u_ctrl (
      .clk,
      .rst,
      .in_valid (data_in_valid && last),
      .in_ready (data_in_ready),
      .out_valid(result_valid),
      .out_ready(result_ready),
      .advance
  );

  assign last = count == CW'(WINDOW - 1);
  assign take = data_in_valid && data_in_ready;

  for (genvar c = 0; c < CHANNELS; c++) begin : gen_lane
    logic signed [SUM_W-1:0] x, acc, total;
    logic signed [PROD_W-1:0] product;
    assign x = SUM_W'($signed({IN_SIGNED ? data_in[c][IN_WIDTH-1] : 1'b0, data_in[c]}));
    assign acc = count == '0 ? x : $signed(sum[c]) + x;

    always_ff @(posedge clk) begin
      if (take && !last) sum[c] <= acc;
      if (advance) total <= acc;  // the register between accumulation and requantization
    end

    mult_pipe #(
        .A_WIDTH(SUM_W),
        .B_WIDTH(RW),
        .IN_REG (1'b0)
    ) u_mult (
        .clk,
        .en(advance),
        .a (total),
        .b (RW'(RECIP)),
        .p (product)
    );

    fixed_requant_reg #(
        .IN_WIDTH  (PROD_W),
        .IN_FRAC   (IN_FRAC + RECIP_FRAC),
        .IN_SIGNED (1'b1),
        .OUT_WIDTH (OUT_WIDTH),
        .OUT_FRAC  (OUT_FRAC),
        .OUT_SIGNED(OUT_SIGNED)
    ) u_requant (
        .clk,
        .en      (advance),
        .data_in (product),
        .data_out(result[c])
    );
  end

  always_ff @(posedge clk) begin
    if (rst) count <= '0;
    else if (take) count <= last ? '0 : count + CW'(1);
  end

  skid_buffer #(
      .LANES(CHANNELS),
      .WIDTH(OUT_WIDTH)
  ) u_out (
      .clk,
      .rst,
      .data_in       (result),
      .data_in_valid (result_valid),
      .data_in_ready (result_ready),
      .data_out,
      .data_out_valid,
      .data_out_ready
  );
endmodule
