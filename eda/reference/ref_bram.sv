// ref_bram: the block-RAM reference of the ECP5 timing flow (eda/pnr.py): a DEPTH x WIDTH memory
// (one DP16KD at 1024 x 18) read into a register, then a second register. synth_ecp5 leaves the
// DP16KD's output register unused (REGMODE=NOREG), so the path from the RAM's clock to the second
// register (the RAM's clock-to-out plus routing) is the ceiling of any design whose block-RAM read
// feeds a fabric register.
//
// Parameters:
//   DEPTH  words (a power of two, 2 .. 16384)
//   WIDTH  bits per word (>= 1)
//
// Latency: 2 cycles from the address to q. Initiation interval: 1.
module ref_bram #(
    parameter int DEPTH = 1024,  // words
    parameter int WIDTH = 18     // bits per word
) (
    input  logic                     clk,
    input  logic                     we,
    input  logic [$clog2(DEPTH)-1:0] addr,
    input  logic [        WIDTH-1:0] wdata,
    output logic [        WIDTH-1:0] q
);
  if (DEPTH < 2 || DEPTH > 16384 || (DEPTH & (DEPTH - 1)) != 0) begin : gen_bad_depth
    $error("ref_bram: DEPTH must be a power of two in 2..16384, got %0d", DEPTH);
  end
  if (WIDTH < 1) begin : gen_bad_width
    $error("ref_bram: WIDTH must be >= 1, got %0d", WIDTH);
  end

  logic [WIDTH-1:0] mem[DEPTH];
  logic [WIDTH-1:0] read_q;

  always_ff @(posedge clk) begin
    if (we) mem[addr] <= wdata;
    read_q <= mem[addr];
    q <= read_q;
  end
endmodule
