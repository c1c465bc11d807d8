// attn_sum_tree: pipelined exact sum of N two's-complement or unsigned numbers.
//
// The inputs are added in pairs, level by level (an odd one passes to the next level), with a
// register after every adder level, all enabled by en. OUT_WIDTH must hold the exact sum.
//
// Parameters:
//   N          numbers to add (>= 1)
//   IN_WIDTH   bits of each input (>= 1)
//   IN_SIGNED  1: inputs are two's complement, 0: unsigned
//   OUT_WIDTH  bits of the signed sum (>= IN_WIDTH + ceil(log2(N)) + (IN_SIGNED ? 0 : 1))
//
// Latency: ceil(log2(N)) enabled cycles (0 when N = 1: the input passes through, extended).
// Initiation interval: 1.
module attn_sum_tree #(
    parameter int N         = 4,   // numbers to add
    parameter int IN_WIDTH  = 16,  // bits of each input
    parameter bit IN_SIGNED = 1,   // inputs are two's complement
    parameter int OUT_WIDTH = 18   // bits of the sum (signed)
) (
    input  logic                       clk,
    input  logic                       en,
    input  logic [N-1:0][IN_WIDTH-1:0] data_in,
    output logic signed [OUT_WIDTH-1:0] data_out
);
  localparam int LEVELS = N > 1 ? $clog2(N) : 0;

  if (N < 1) begin : gen_bad_n
    $error("attn_sum_tree: N must be >= 1, got %0d", N);
  end
  if (IN_WIDTH < 1) begin : gen_bad_in_width
    $error("attn_sum_tree: IN_WIDTH must be >= 1, got %0d", IN_WIDTH);
  end
  if (OUT_WIDTH < IN_WIDTH + LEVELS + (IN_SIGNED ? 0 : 1)) begin : gen_bad_out_width
    $error("attn_sum_tree: OUT_WIDTH=%0d must be >= %0d", OUT_WIDTH,
           IN_WIDTH + LEVELS + (IN_SIGNED ? 0 : 1));
  end

  // level[l][k]: partial sum k after l adder levels ((N + 2**l - 1) / 2**l of them are used).
  logic signed [OUT_WIDTH-1:0] level[LEVELS+1][N];

  for (genvar k = 0; k < N; k++) begin : gen_in
    if (IN_SIGNED) begin : gen_signed
      assign level[0][k] = OUT_WIDTH'(signed'(data_in[k]));
    end else begin : gen_unsigned
      assign level[0][k] = OUT_WIDTH'({1'b0, data_in[k]});
    end
  end

  for (genvar l = 0; l < LEVELS; l++) begin : gen_level
    localparam int IN_COUNT = (N + (1 << l) - 1) >> l;
    localparam int OUT_COUNT = (IN_COUNT + 1) / 2;
    for (genvar k = 0; k < OUT_COUNT; k++) begin : gen_node
      always_ff @(posedge clk) begin
        if (en) begin
          if (2 * k + 1 < IN_COUNT) level[l+1][k] <= level[l][2*k] + level[l][2*k+1];
          else level[l+1][k] <= level[l][2*k];
        end
      end
    end
    for (genvar k = OUT_COUNT; k < N; k++) begin : gen_unused
      assign level[l+1][k] = '0;
    end
  end

  assign data_out = level[LEVELS][0];

  if (LEVELS == 0) begin : gen_no_registers
    logic unused;  // a single input passes through: no register to clock or enable
    assign unused = clk ^ en;
  end
endmodule
