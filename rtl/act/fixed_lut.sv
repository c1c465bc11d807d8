// fixed_lut: per-lane table lookup, the hardware of any element-wise activation (sigmoid, tanh,
// GELU, SiLU, exp, ...) on narrow fixed-point data.
//
// Each lane's raw input bits index a ROM of 2**IN_WIDTH entries (the two's-complement bit pattern
// read as an unsigned index, so a signed input -1 reads entry 2**IN_WIDTH - 1); the entry is the
// lane's output. golden/activation.py builds tables from a real function with the project's
// rounding (round half up, saturate), and golden.activation.lookup is the reference.
//
// Pipelined: the table is read synchronously (a block RAM's read register for large tables), the
// entry is registered once more (a block RAM's clock-to-out is most of a cycle) and a skid_buffer
// offers the beat, so data_in_ready depends only on registers (never on data_out_ready).
//
// Parameters:
//   LANES       lanes per beat (>= 1)
//   IN_WIDTH    input bits, the table's address width (1 .. 12)
//   OUT_WIDTH   output bits, the table's entry width (>= 1)
//   TABLE_FILE  $readmemh image: 2**IN_WIDTH words of OUT_WIDTH bits, entry i on line i
//
// Latency: 3 cycles (table read, entry register, skid_buffer). Initiation interval: 1.
// lint-params: TABLE_FILE="table.memh"
module fixed_lut #(
    parameter int    LANES      = 1,  // lanes per beat
    parameter int    IN_WIDTH   = 8,  // input bits (table address)
    parameter int    OUT_WIDTH  = 8,  // output bits (table entry)
    parameter string TABLE_FILE = ""  // table image (required)
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
  if (LANES < 1) begin : gen_bad_lanes
    $error("fixed_lut: LANES must be >= 1, got %0d", LANES);
  end
  if (IN_WIDTH < 1 || IN_WIDTH > 12) begin : gen_bad_in_width
    $error("fixed_lut: IN_WIDTH must be in 1..12 (a 2**IN_WIDTH-entry table), got %0d", IN_WIDTH);
  end
  if (OUT_WIDTH < 1) begin : gen_bad_out_width
    $error("fixed_lut: OUT_WIDTH must be >= 1, got %0d", OUT_WIDTH);
  end
  if (TABLE_FILE == "") begin : gen_no_table
    $error("fixed_lut: TABLE_FILE must name a $readmemh table image");
  end

  logic [OUT_WIDTH-1:0] table_mem[2**IN_WIDTH];
  initial $readmemh(TABLE_FILE, table_mem);

  logic [LANES-1:0][OUT_WIDTH-1:0] entry, entry_q;
  logic result_valid, result_ready, advance;

  pipe_ctrl #(
      .STAGES(2)
  ) u_ctrl (
      .clk,
      .rst,
      .in_valid (data_in_valid),
      .in_ready (data_in_ready),
      .out_valid(result_valid),
      .out_ready(result_ready),
      .advance
  );

  always_ff @(posedge clk) begin
    if (advance) begin
      for (int i = 0; i < LANES; i++) entry[i] <= table_mem[data_in[i]];
      entry_q <= entry;
    end
  end

  skid_buffer #(
      .LANES(LANES),
      .WIDTH(OUT_WIDTH)
  ) u_out (
      .clk,
      .rst,
      .data_in       (entry_q),
      .data_in_valid (result_valid),
      .data_in_ready (result_ready),
      .data_out,
      .data_out_valid,
      .data_out_ready
  );
endmodule
