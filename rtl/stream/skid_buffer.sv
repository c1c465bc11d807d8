// skid_buffer: a full-throughput register slice for a ready/valid stream.
//
// Both directions are registered: data_out / data_out_valid come from a flip-flop and
// data_in_ready is a flip-flop too, so the buffer cuts every combinational path between its
// producer and its consumer. A second ("skid") register catches the beat that arrives in the
// cycle the consumer stalls, so the stream still moves one beat per cycle under back-pressure.
//
// Parameters:
//   LANES  lanes per beat (>= 1)
//   WIDTH  bits per lane (>= 1)
//
// Latency: 1 cycle (a beat accepted at edge t is offered at data_out after edge t).
// Initiation interval: 1 (one beat per cycle when data_out_ready stays high).
module skid_buffer #(
    parameter int LANES = 1,  // lanes per beat
    parameter int WIDTH = 8   // bits per lane
) (
    input  logic                        clk,
    input  logic                        rst,
    input  logic [LANES-1:0][WIDTH-1:0] data_in,
    input  logic                        data_in_valid,
    output logic                        data_in_ready,
    output logic [LANES-1:0][WIDTH-1:0] data_out,
    output logic                        data_out_valid,
    input  logic                        data_out_ready
);
  // Parameter checks: stop elaboration with a message naming the parameter.
  if (LANES < 1) begin : gen_bad_lanes
    $error("skid_buffer: LANES must be >= 1, got %0d", LANES);
  end
  if (WIDTH < 1) begin : gen_bad_width
    $error("skid_buffer: WIDTH must be >= 1, got %0d", WIDTH);
  end

  logic [LANES-1:0][WIDTH-1:0] skid_data;
  logic                        skid_valid;

  // A beat moves to the output register when it is empty or being emptied.
  logic out_free;
  assign out_free = !data_out_valid || data_out_ready;

  always_ff @(posedge clk) begin
    if (rst) begin
      data_out_valid <= 1'b0;
      skid_valid     <= 1'b0;
      data_in_ready  <= 1'b0;
    end else begin
      if (out_free) begin
        // Output register takes the skid beat first, else the incoming beat.
        data_out_valid <= skid_valid || (data_in_valid && data_in_ready);
        skid_valid     <= 1'b0;
      end else if (data_in_valid && data_in_ready) begin
        // Consumer stalled while a beat arrived: park it in the skid register.
        skid_valid <= 1'b1;
      end
      // Ready next cycle iff the skid register will be empty.
      data_in_ready <= out_free || !(skid_valid || (data_in_valid && data_in_ready));
    end
  end

  always_ff @(posedge clk) begin
    if (out_free) begin
      data_out <= skid_valid ? skid_data : data_in;
    end
    if (!out_free && data_in_valid && data_in_ready) begin
      skid_data <= data_in;
    end
  end
endmodule
