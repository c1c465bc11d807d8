// pool_max: per-lane maximum over every WINDOW consecutive beats (the reduction of max pooling).
//
// Beats arrive in groups of WINDOW (a conv_window emits one group per output position); the
// running maximum of each lane is kept and the group's maximum leaves as one beat, through a
// skid_buffer: data_out comes from flip-flops and data_in_ready depends only on registers (never
// on data_out_ready in the same cycle).
//
// Parameters:
//   CHANNELS    lanes per beat (>= 1)
//   DATA_WIDTH  bits per lane (>= 2 when SIGNED, else >= 1)
//   SIGNED      1: lanes are two's complement, 0: unsigned
//   WINDOW      beats per group (>= 1)
//
// Latency: 1 cycle from a group's last beat to its maximum.
// Initiation interval: WINDOW cycles per output beat (one input beat per cycle).
module pool_max #(
    parameter int CHANNELS   = 1,  // lanes per beat
    parameter int DATA_WIDTH = 8,  // bits per lane
    parameter bit SIGNED     = 1,  // lanes are two's complement
    parameter int WINDOW     = 4   // beats per group
) (
    input  logic                                clk,
    input  logic                                rst,
    input  logic [CHANNELS-1:0][DATA_WIDTH-1:0] data_in,
    input  logic                                data_in_valid,
    output logic                                data_in_ready,
    output logic [CHANNELS-1:0][DATA_WIDTH-1:0] data_out,
    output logic                                data_out_valid,
    input  logic                                data_out_ready
);
  localparam int CW = WINDOW > 1 ? $clog2(WINDOW) : 1;

  if (CHANNELS < 1) begin : gen_bad_channels
    $error("pool_max: CHANNELS must be >= 1, got %0d", CHANNELS);
  end
  if (DATA_WIDTH < (SIGNED ? 2 : 1)) begin : gen_bad_width
    $error("pool_max: DATA_WIDTH must be >= %0d, got %0d", SIGNED ? 2 : 1, DATA_WIDTH);
  end
  if (WINDOW < 1) begin : gen_bad_window
    $error("pool_max: WINDOW must be >= 1, got %0d", WINDOW);
  end

  logic [CW-1:0] count;  // beats of the current group taken so far
  logic [CHANNELS-1:0][DATA_WIDTH-1:0] best, best_next;
  logic last, out_ready, take;

  assign last = count == CW'(WINDOW - 1);
  // The group's last beat sends its maximum into the skid_buffer.
  assign data_in_ready = !last || out_ready;
  assign take = data_in_valid && data_in_ready;

  // best restarts from the smallest value after each group, so the running maximum is one
  // compare and one multiplexer (no "first beat" case on the path).
  localparam logic [DATA_WIDTH-1:0] LOWEST = SIGNED ? DATA_WIDTH'(1) << (DATA_WIDTH - 1) : '0;

  always_comb begin
    for (int c = 0; c < CHANNELS; c++) begin
      if (SIGNED ? $signed(data_in[c]) > $signed(best[c]) : data_in[c] > best[c])
        best_next[c] = data_in[c];
      else best_next[c] = best[c];
    end
  end

  always_ff @(posedge clk) begin
    if (rst) count <= '0;
    else if (take) count <= last ? '0 : count + CW'(1);
  end

  always_ff @(posedge clk) begin
    if (rst || (take && last)) best <= {CHANNELS{LOWEST}};
    else if (take) best <= best_next;
  end

  skid_buffer #(
      .LANES(CHANNELS),
      .WIDTH(DATA_WIDTH)
  ) u_out (
      .clk,
      .rst,
      .data_in       (best_next),
      .data_in_valid (data_in_valid && last),
      .data_in_ready (out_ready),
      .data_out,
      .data_out_valid,
      .data_out_ready
  );
endmodule
