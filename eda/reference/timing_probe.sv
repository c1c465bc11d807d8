// timing_probe: a deliberately long combinational path next to a short one, for the test of
// eda/pnr.py's critical-path report. long_src -> three chained multiplies and an add ->
// long_dst is many times longer than short_src -> AND -> short_dst, so place and route must name
// long_src and long_dst as the critical path's start and end points.
//
// Parameters:
//   WIDTH  bits of the operands (>= 2)
//
// Latency: 2 cycles. Initiation interval: 1.
module timing_probe #(
    parameter int WIDTH = 16  // operand bits
) (
    input  logic             clk,
    input  logic [WIDTH-1:0] a,
    input  logic [WIDTH-1:0] b,
    output logic [WIDTH-1:0] y_long,
    output logic [WIDTH-1:0] y_short
);
  if (WIDTH < 2) begin : gen_bad_width
    $error("timing_probe: WIDTH must be >= 2, got %0d", WIDTH);
  end

  logic [WIDTH-1:0] long_src, short_src, long_dst, short_dst;

  always_ff @(posedge clk) begin
    long_src  <= a;
    short_src <= b;
    long_dst  <= ((long_src * long_src) * (long_src ^ (long_src >> 1))) * long_src + long_src;
    short_dst <= short_src & a;
  end

  assign y_long  = long_dst;
  assign y_short = short_dst;
endmodule
