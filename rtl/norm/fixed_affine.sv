// fixed_affine: per-channel scale and shift, y[c] = requant(x[c] * scale[c] + shift[c]), the
// RTL twin of golden.norm.affine (inference batch-norm folded to one scale and one shift per
// channel, or a layer scale).
//
// The stream carries positions one after another; a position is CHANNELS elements sent as
// P = CHANNELS / LANES beats of LANES lanes, so lane i of beat k holds channel k*LANES + i.
// Each lane multiplies exactly (IN_FRAC + S_FRAC fraction bits; mult_pipe, registered), adds the
// shift aligned to that format by a left shift (registered), and fixed_requant_reg rounds half up
// and saturates once to the output format. A skid_buffer registers the result, so data_in_ready
// never depends on data_out_ready in the same cycle.
//
// Parameters:
//   CHANNELS    elements per position (>= 1)
//   LANES       channels per beat, divides CHANNELS
//   IN_WIDTH    bits per input lane (>= 1; >= 2 when IN_SIGNED)
//   IN_FRAC     fraction bits of the input: a lane q means q * 2**-IN_FRAC
//   IN_SIGNED   1: input lanes are two's complement, 0: unsigned (e.g. after ReLU)
//   S_WIDTH     bits of a scale, two's complement (>= 2)
//   S_FRAC      fraction bits of a scale
//   B_WIDTH     bits of a shift, two's complement (>= 2)
//   B_FRAC      fraction bits of a shift, <= IN_FRAC + S_FRAC
//   OUT_WIDTH   bits per output lane (>= 1; >= 2 when OUT_SIGNED)
//   OUT_FRAC    fraction bits of the output
//   OUT_SIGNED  1: output lanes are two's complement, 0: unsigned (negative results become 0)
//   SCALE_FILE  $readmemh image: P words of LANES*S_WIDTH bits; word k holds scale[k*LANES + i]
//               at lane i (lane 0 in the low bits)
//   SHIFT_FILE  $readmemh image: P words of LANES*B_WIDTH bits, laid out like SCALE_FILE
//   (sim/catalogue.py's _prepare_affine writes both images.)
// lint-params: SCALE_FILE="scale.memh" SHIFT_FILE="shift.memh"
//
// Latency: M + 3 cycles: M = 1 + ceil(log2(LA * LB)) product register levels (LA = 1 if
//   IN_WIDTH + 1 <= 18 else 1 + ceil((IN_WIDTH - 17) / 17), LB likewise for S_WIDTH; M = 1 for
//   operands of at most 18 bits), the sum's register, the requantizer's register, the skid_buffer.
// Initiation interval: 1.
// Memories: scale and shift words are read one cycle ahead into registers (synchronous reads, so
//   synthesis can map them to block RAM); a rst of at least one cycle primes the first read.
module fixed_affine #(
    parameter int    CHANNELS   = 4,   // elements per position
    parameter int    LANES      = 1,   // channels per beat (divides CHANNELS)
    parameter int    IN_WIDTH   = 8,   // input bits
    parameter int    IN_FRAC    = 4,   // input fraction bits
    parameter bit    IN_SIGNED  = 1,   // input is two's complement
    parameter int    S_WIDTH    = 8,   // scale bits (signed)
    parameter int    S_FRAC     = 6,   // scale fraction bits
    parameter int    B_WIDTH    = 8,   // shift bits (signed)
    parameter int    B_FRAC     = 6,   // shift fraction bits (<= IN_FRAC + S_FRAC)
    parameter int    OUT_WIDTH  = 8,   // output bits
    parameter int    OUT_FRAC   = 4,   // output fraction bits
    parameter bit    OUT_SIGNED = 1,   // output is two's complement
    parameter string SCALE_FILE = "",  // scale memory image (required)
    parameter string SHIFT_FILE = ""   // shift memory image (required)
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
  localparam int P = LANES > 0 ? CHANNELS / LANES : 1;  // beats per position
  localparam int PW = P > 1 ? $clog2(P) : 1;
  localparam int ACC_FRAC = IN_FRAC + S_FRAC;  // fraction bits of the exact product
  localparam int BSHIFT = ACC_FRAC - B_FRAC;  // left shift aligning the shift
  localparam int BSH = BSHIFT > 0 ? BSHIFT : 0;
  localparam int PROD_W = IN_WIDTH + 1 + S_WIDTH;  // input read as signed, times the scale
  localparam int ACC_W = (PROD_W > B_WIDTH + BSH ? PROD_W : B_WIDTH + BSH) + 1;  // exact sum

  // Parameter checks: stop elaboration with a message naming the parameter.
  if (CHANNELS < 1) begin : gen_bad_channels
    $error("fixed_affine: CHANNELS must be >= 1, got %0d", CHANNELS);
  end
  if (LANES < 1 || CHANNELS % LANES != 0) begin : gen_bad_lanes
    $error("fixed_affine: LANES=%0d must be >= 1 and divide CHANNELS=%0d", LANES, CHANNELS);
  end
  if (IN_WIDTH < (IN_SIGNED ? 2 : 1)) begin : gen_bad_in_width
    $error("fixed_affine: IN_WIDTH must be >= %0d, got %0d", IN_SIGNED ? 2 : 1, IN_WIDTH);
  end
  if (S_WIDTH < 2) begin : gen_bad_s_width
    $error("fixed_affine: S_WIDTH must be >= 2 (signed), got %0d", S_WIDTH);
  end
  if (B_WIDTH < 2) begin : gen_bad_b_width
    $error("fixed_affine: B_WIDTH must be >= 2 (signed), got %0d", B_WIDTH);
  end
  if (BSHIFT < 0) begin : gen_bad_b_frac
    $error("fixed_affine: B_FRAC=%0d must be <= IN_FRAC + S_FRAC = %0d", B_FRAC, ACC_FRAC);
  end
  if (OUT_WIDTH < (OUT_SIGNED ? 2 : 1)) begin : gen_bad_out_width
    $error("fixed_affine: OUT_WIDTH must be >= %0d, got %0d", OUT_SIGNED ? 2 : 1, OUT_WIDTH);
  end
  if (SCALE_FILE == "") begin : gen_no_scale
    $error("fixed_affine: SCALE_FILE must name a $readmemh scale image");
  end
  if (SHIFT_FILE == "") begin : gen_no_shift
    $error("fixed_affine: SHIFT_FILE must name a $readmemh shift image");
  end

  // ---- constants of the current beat position ---------------------------------------------
  logic [LANES*S_WIDTH-1:0] scale_mem[P];
  logic [LANES*B_WIDTH-1:0] shift_mem[P];
  initial $readmemh(SCALE_FILE, scale_mem);
  initial $readmemh(SHIFT_FILE, shift_mem);

  logic [PW-1:0] pos, pos_next;  // beat within the position
  logic take, last;

  assign take = data_in_valid && data_in_ready;
  assign last = pos == PW'(P - 1);

  always_comb begin
    pos_next = pos;
    if (rst) pos_next = '0;
    else if (take) pos_next = last ? '0 : pos + PW'(1);
  end

  always_ff @(posedge clk) pos <= pos_next;

  // Read one cycle ahead with the next position, so the words belong to the current beat.
  logic [LANES*S_WIDTH-1:0] scale_word;
  logic [LANES*B_WIDTH-1:0] shift_word;
  always_ff @(posedge clk) begin
    scale_word <= scale_mem[pos_next];
    shift_word <= shift_mem[pos_next];
  end

  // ---- per-lane arithmetic: mult_pipe's register levels, the sum, fixed_requant_reg, skid ----
  localparam int XW = IN_WIDTH + 1;  // the input as a signed number
  localparam int LA = XW <= 18 ? 1 : 1 + (XW - 2) / 17;  // mult_pipe limbs of x
  localparam int LB = S_WIDTH <= 18 ? 1 : 1 + (S_WIDTH - 2) / 17;  // and of the scale
  localparam int MULT_LAT = 1 + (LA * LB > 1 ? $clog2(LA * LB) : 0);  // without input registers

  logic [LANES-1:0][OUT_WIDTH-1:0] result;
  logic result_valid, result_ready, advance;

  pipe_ctrl #(
      .STAGES(MULT_LAT + 2)
  ) u_ctrl (
      .clk,
      .rst,
      .in_valid (data_in_valid),
      .in_ready (data_in_ready),
      .out_valid(result_valid),
      .out_ready(result_ready),
      .advance
  );

  for (genvar i = 0; i < LANES; i++) begin : gen_lane
    logic signed [XW-1:0] x;
    logic signed [PROD_W-1:0] product;
    logic signed [B_WIDTH-1:0] b_delay[MULT_LAT];  // the shift, beside the product
    logic signed [ACC_W-1:0] acc;
    assign x = $signed({IN_SIGNED ? data_in[i][IN_WIDTH-1] : 1'b0, data_in[i]});

    mult_pipe #(
        .A_WIDTH(XW),
        .B_WIDTH(S_WIDTH),
        .IN_REG (1'b0)
    ) u_mult (
        .clk,
        .en(advance),
        .a (x),
        .b (scale_word[i*S_WIDTH+:S_WIDTH]),
        .p (product)
    );

    always_ff @(posedge clk) begin
      if (advance) begin
        b_delay[0] <= shift_word[i*B_WIDTH+:B_WIDTH];
        for (int k = 1; k < MULT_LAT; k++) b_delay[k] <= b_delay[k-1];
        acc <= ACC_W'(product) + (ACC_W'(b_delay[MULT_LAT-1]) <<< BSH);
      end
    end

    fixed_requant_reg #(
        .IN_WIDTH  (ACC_W),
        .IN_FRAC   (ACC_FRAC),
        .IN_SIGNED (1'b1),
        .OUT_WIDTH (OUT_WIDTH),
        .OUT_FRAC  (OUT_FRAC),
        .OUT_SIGNED(OUT_SIGNED)
    ) u_requant (
        .clk,
        .en      (advance),
        .data_in (acc),
        .data_out(result[i])
    );
  end

  skid_buffer #(
      .LANES(LANES),
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
