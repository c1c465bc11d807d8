// add_tree: pipelined sum of N signed or unsigned numbers, one register level per adder level.
//
// The N inputs are added in pairs, level by level (an odd one out passes to the next level),
// ceil(log2(N)) levels, each registered when en is high. The sum is exact and signed: OUT_WIDTH
// must be at least IN_WIDTH + ceil(log2(N)) (one more for unsigned inputs). en may come in
// EN_COPIES identical copies (all equal every cycle) to split its fan-out: the adder whose
// leftmost input is number j takes copy j * EN_COPIES / N.
//
// Parameters:
//   N          numbers to add (>= 1)
//   IN_WIDTH   bits of each input (>= 1)
//   IN_SIGNED  1: inputs are two's complement, 0: unsigned
//   OUT_WIDTH  bits of the signed sum (>= IN_WIDTH + ceil(log2(N)) + (IN_SIGNED ? 0 : 1))
//   EN_COPIES  bits of en, identical copies of the enable (1 .. N)
//
// Latency: ceil(log2(N)) cycles (0 when N = 1: the input passes through, sign-extended).
// Initiation interval: 1.
module add_tree #(
    parameter int N         = 4,   // numbers to add
    parameter int IN_WIDTH  = 16,  // bits of each input
    parameter bit IN_SIGNED = 1,   // inputs are two's complement
    parameter int OUT_WIDTH = 18,  // bits of the sum (signed)
    parameter int EN_COPIES = 1    // identical copies of en
) (
    input  logic                            clk,
    input  logic [EN_COPIES-1:0]            en,
    input  logic [N-1:0][IN_WIDTH-1:0]      data_in,
    output logic signed [OUT_WIDTH-1:0]     data_out
);
  localparam int LEVELS = N > 1 ? $clog2(N) : 0;

  if (N < 1) begin : gen_bad_n
    $error("add_tree: N must be >= 1, got %0d", N);
  end
  if (EN_COPIES < 1 || EN_COPIES > N) begin : gen_bad_copies
    $error("add_tree: EN_COPIES=%0d must be in 1 .. N=%0d", EN_COPIES, N);
  end
  if (IN_WIDTH < 1) begin : gen_bad_in_width
    $error("add_tree: IN_WIDTH must be >= 1, got %0d", IN_WIDTH);
  end
  if (OUT_WIDTH < IN_WIDTH + LEVELS + (IN_SIGNED ? 0 : 1)) begin : gen_bad_out_width
    $error("add_tree: OUT_WIDTH=%0d must be >= IN_WIDTH + ceil(log2(N)) (+ 1 unsigned) = %0d",
           OUT_WIDTH, IN_WIDTH + LEVELS + (IN_SIGNED ? 0 : 1));
  end

  // level[l] holds the (N + 2**l - 1) / 2**l partial sums after l adder levels.
  logic signed [OUT_WIDTH-1:0] level[LEVELS+1][N];

  for (genvar k = 0; k < N; k++) begin : gen_in
    if (IN_SIGNED) begin : gen_signed
      assign level[0][k] = OUT_WIDTH'(signed'(data_in[k]));
    end else begin : gen_unsigned
      assign level[0][k] = OUT_WIDTH'({1'b0, data_in[k]});
    end
  end

  for (genvar l = 1; l <= LEVELS; l++) begin : gen_level
    localparam int PREV = (N + (1 << (l - 1)) - 1) >> (l - 1);  // sums entering this level
    localparam int CUR = (PREV + 1) / 2;  // sums leaving it
    for (genvar k = 0; k < CUR; k++) begin : gen_add
      localparam int E = ((k << (l - 1)) * 2 * EN_COPIES) / N;  // copy of en: leftmost input's
      always_ff @(posedge clk) begin
        if (en[E]) begin
          if (2 * k + 1 < PREV) level[l][k] <= level[l-1][2*k] + level[l-1][2*k+1];
          else level[l][k] <= level[l-1][2*k];
        end
      end
    end
    for (genvar k = CUR; k < N; k++) begin : gen_unused
      assign level[l][k] = '0;
    end
  end

  assign data_out = level[LEVELS][0];

  if (LEVELS == 0) begin : gen_no_register
    logic unused_clk_en;  // a single input passes through: nothing is registered
    assign unused_clk_en = clk ^ (^en);
  end
endmodule
