// attn_divide: pipelined unsigned division, quotient = floor(num / den), one quotient bit per
// stage (restoring division), with a tag carried alongside.
//
// Stage j decides quotient bit Q_WIDTH-1-j: the remainder is compared with den << bit and
// reduced when not below it. The caller guarantees den > 0 and num < den * 2**Q_WIDTH (the
// quotient fits Q_WIDTH bits). The pipeline never stalls: a division entering with in_valid
// leaves Q_WIDTH cycles later with out_valid.
//
// Parameters:
//   NUM_WIDTH  bits of the dividend (>= 1)
//   DEN_WIDTH  bits of the divisor (>= 1)
//   Q_WIDTH    bits of the quotient (>= 1)
//   TAG_WIDTH  bits of the tag that travels with each division (>= 1)
//
// Latency: Q_WIDTH cycles. Initiation interval: 1.
module attn_divide #(
    parameter int NUM_WIDTH = 16,  // bits of the dividend
    parameter int DEN_WIDTH = 8,   // bits of the divisor
    parameter int Q_WIDTH   = 8,   // bits of the quotient
    parameter int TAG_WIDTH = 1    // bits of the tag carried along
) (
    input  logic                 clk,
    input  logic                 rst,
    input  logic                 in_valid,
    input  logic [NUM_WIDTH-1:0] num,
    input  logic [DEN_WIDTH-1:0] den,
    input  logic [TAG_WIDTH-1:0] in_tag,
    output logic                 out_valid,
    output logic [  Q_WIDTH-1:0] quotient,
    output logic [TAG_WIDTH-1:0] out_tag
);
  if (NUM_WIDTH < 1) begin : gen_bad_num_width
    $error("attn_divide: NUM_WIDTH must be >= 1, got %0d", NUM_WIDTH);
  end
  if (DEN_WIDTH < 1) begin : gen_bad_den_width
    $error("attn_divide: DEN_WIDTH must be >= 1, got %0d", DEN_WIDTH);
  end
  if (Q_WIDTH < 1) begin : gen_bad_q_width
    $error("attn_divide: Q_WIDTH must be >= 1, got %0d", Q_WIDTH);
  end
  if (TAG_WIDTH < 1) begin : gen_bad_tag_width
    $error("attn_divide: TAG_WIDTH must be >= 1, got %0d", TAG_WIDTH);
  end

  // wide enough for the dividend and for den shifted by the top quotient bit
  localparam int W = NUM_WIDTH > DEN_WIDTH + Q_WIDTH ? NUM_WIDTH : DEN_WIDTH + Q_WIDTH;

  // stage j's registers hold the state after deciding bits Q_WIDTH-1 .. Q_WIDTH-1-j
  logic [W-1:0] rem[Q_WIDTH+1];
  logic [DEN_WIDTH-1:0] dens[Q_WIDTH+1];
  logic [Q_WIDTH-1:0] quot[Q_WIDTH+1];
  logic [TAG_WIDTH-1:0] tags[Q_WIDTH+1];
  logic [Q_WIDTH:0] valid;

  assign rem[0] = W'(num);
  assign dens[0] = den;
  assign quot[0] = '0;
  assign tags[0] = in_tag;
  assign valid[0] = in_valid;

  for (genvar j = 0; j < Q_WIDTH; j++) begin : gen_stage
    localparam int BIT = Q_WIDTH - 1 - j;
    logic [W-1:0] shifted;
    logic take;
    assign shifted = W'(dens[j]) << BIT;
    assign take = rem[j] >= shifted;
    always_ff @(posedge clk) begin
      rem[j+1] <= take ? rem[j] - shifted : rem[j];
      dens[j+1] <= dens[j];
      quot[j+1] <= quot[j] | (Q_WIDTH'(take) << BIT);
      tags[j+1] <= tags[j];
    end
    always_ff @(posedge clk) begin
      if (rst) valid[j+1] <= 1'b0;
      else valid[j+1] <= valid[j];
    end
  end

  assign out_valid = valid[Q_WIDTH];
  assign quotient = quot[Q_WIDTH];
  assign out_tag = tags[Q_WIDTH];

  // the last remainder and divisor are not needed
  logic unused;
  assign unused = ^{rem[Q_WIDTH], dens[Q_WIDTH]};
endmodule
