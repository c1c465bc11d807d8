// attn_isqrt: pipelined integer square root, root = floor(sqrt(radicand)), one root bit per stage
// (the digit-by-digit method), with a tag carried alongside.
//
// Stage j brings down the next two radicand bits and decides root bit ROOT_WIDTH-1-j: the
// remainder is compared with 4 * root + 1 and reduced when not below it. The pipeline never
// stalls: a radicand entering with in_valid leaves ROOT_WIDTH cycles later with out_valid.
//
// Parameters:
//   WIDTH      bits of the unsigned radicand (>= 1)
//   TAG_WIDTH  bits of the tag that travels with each root (>= 1)
//   (ROOT_WIDTH = ceil(WIDTH / 2) bits of root.)
//
// Latency: ceil(WIDTH / 2) cycles. Initiation interval: 1.
module attn_isqrt #(
    parameter int WIDTH     = 16,  // bits of the radicand
    parameter int TAG_WIDTH = 1    // bits of the tag carried along
) (
    input  logic                             clk,
    input  logic                             rst,
    input  logic                             in_valid,
    input  logic [WIDTH-1:0]                 radicand,
    input  logic [TAG_WIDTH-1:0]             in_tag,
    output logic                             out_valid,
    output logic [(WIDTH+1)/2-1:0]           root,
    output logic [TAG_WIDTH-1:0]             out_tag
);
  if (WIDTH < 1) begin : gen_bad_width
    $error("attn_isqrt: WIDTH must be >= 1, got %0d", WIDTH);
  end
  if (TAG_WIDTH < 1) begin : gen_bad_tag_width
    $error("attn_isqrt: TAG_WIDTH must be >= 1, got %0d", TAG_WIDTH);
  end

  localparam int RW = (WIDTH + 1) / 2;  // root bits
  localparam int EW = 2 * RW;  // radicand bits, rounded up to even
  localparam int REMW = RW + 2;  // remainder bits (remainder <= 2 * root)

  logic [EW-1:0] rad[RW+1];  // radicand bits still to bring down, at the top
  logic [REMW-1:0] rem[RW+1];
  logic [RW-1:0] partial[RW+1];
  logic [TAG_WIDTH-1:0] tags[RW+1];
  logic [RW:0] valid;

  assign rad[0] = EW'(radicand);
  assign rem[0] = '0;
  assign partial[0] = '0;
  assign tags[0] = in_tag;
  assign valid[0] = in_valid;

  for (genvar j = 0; j < RW; j++) begin : gen_stage
    logic [REMW-1:0] brought, trial;
    logic take;
    assign brought = {rem[j][REMW-3:0], rad[j][EW-1-:2]};
    assign trial = {partial[j], 2'b01};
    assign take = brought >= trial;
    always_ff @(posedge clk) begin
      rad[j+1] <= rad[j] << 2;
      rem[j+1] <= take ? brought - trial : brought;
      partial[j+1] <= RW'({partial[j], take});
      tags[j+1] <= tags[j];
    end
    always_ff @(posedge clk) begin
      if (rst) valid[j+1] <= 1'b0;
      else valid[j+1] <= valid[j];
    end
  end

  assign out_valid = valid[RW];
  assign root = partial[RW];
  assign out_tag = tags[RW];

  logic unused;
  assign unused = ^{rad[RW], rem[RW]};
endmodule
