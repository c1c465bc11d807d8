// stream_fifo: synchronous first-in first-out buffer for a ready/valid stream.
//
// Holds up to DEPTH beats (DEPTH = 2 is a skid_buffer, which behaves identically and scales to
// wide beats). The head beat sits in the output register (data_out is driven
// straight from flip-flops); the other DEPTH-1 beats sit in a circular buffer. A beat that
// arrives while the buffer is empty and the output register is free (or being emptied) goes
// straight to the output register, so an empty FIFO forwards a beat in one cycle.
// data_in_ready depends only on the fill level (a register), never combinationally on
// data_out_ready, so the FIFO also cuts the ready path between producer and consumer.
//
// Parameters:
//   LANES  lanes per beat (>= 1)
//   WIDTH  bits per lane (>= 1)
//   DEPTH  capacity in beats (>= 1), the output register included
//
// Latency: 1 cycle (a beat accepted into an empty FIFO at edge t is offered after edge t).
// Initiation interval: 1 for DEPTH >= 2 (a beat in and a beat out in the same cycle whenever
// the FIFO is neither empty nor full). DEPTH = 1 is a single register whose ready does not
// look at data_out_ready, so it alternates: one beat every 2 cycles.
module stream_fifo #(
    parameter int LANES = 1,  // lanes per beat
    parameter int WIDTH = 8,  // bits per lane
    parameter int DEPTH = 2   // capacity in beats
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
    $error("stream_fifo: LANES must be >= 1, got %0d", LANES);
  end
  if (WIDTH < 1) begin : gen_bad_width
    $error("stream_fifo: WIDTH must be >= 1, got %0d", WIDTH);
  end
  if (DEPTH < 1) begin : gen_bad_depth
    $error("stream_fifo: DEPTH must be >= 1, got %0d", DEPTH);
  end

  localparam int BUF_DEPTH = DEPTH - 1;  // beats behind the output register
  localparam int CW = $clog2(DEPTH + 1);  // bits of a fill count 0..DEPTH

  logic push, load_out;
  assign push = data_in_valid && data_in_ready;
  // The output register takes a new beat (or empties) when it is empty or being emptied.
  assign load_out = !data_out_valid || data_out_ready;

  if (DEPTH == 2) begin : gen_two
    // Two beats, an output register and one behind it, is exactly a skid_buffer (same
    // handshake, same cycles), whose control state is replicated for wide beats.
    skid_buffer #(
        .LANES(LANES),
        .WIDTH(WIDTH)
    ) u_slice (
        .clk,
        .rst,
        .data_in,
        .data_in_valid,
        .data_in_ready,
        .data_out,
        .data_out_valid,
        .data_out_ready
    );
    logic unused_load_push;  // the generic FIFO's control is not used
    assign unused_load_push = load_out ^ push;
  end else if (BUF_DEPTH == 0) begin : gen_register_only
    assign data_in_ready = !data_out_valid;

    always_ff @(posedge clk) begin
      if (rst) data_out_valid <= 1'b0;
      else if (load_out) data_out_valid <= push;
    end

    always_ff @(posedge clk) begin
      if (push) data_out <= data_in;
    end
  end else begin : gen_buffered
    localparam int PW = BUF_DEPTH > 1 ? $clog2(BUF_DEPTH) : 1;  // buffer pointer bits
    localparam logic [PW-1:0] LAST = PW'(BUF_DEPTH - 1);  // highest buffer index

    logic [LANES-1:0][WIDTH-1:0] mem[BUF_DEPTH];  // beats behind the output register
    logic [PW-1:0] wr_ptr, rd_ptr;
    logic [CW-1:0] buf_count;  // beats in the buffer, 0..BUF_DEPTH
    logic buf_empty, bypass, buf_write, buf_read;

    assign buf_empty = buf_count == '0;
    // The buffer is empty and the output register is free: the new beat goes straight there.
    assign bypass = buf_empty && load_out;
    assign buf_write = push && !bypass;
    assign buf_read = load_out && !buf_empty;
    // A non-empty buffer implies a valid output register, so this is "fewer than DEPTH beats".
    assign data_in_ready = buf_count != CW'(BUF_DEPTH);

    always_ff @(posedge clk) begin
      if (rst) begin
        data_out_valid <= 1'b0;
        buf_count <= '0;
        wr_ptr <= '0;
        rd_ptr <= '0;
      end else begin
        if (load_out) data_out_valid <= !buf_empty || push;
        if (buf_write) wr_ptr <= wr_ptr == LAST ? '0 : wr_ptr + 1'b1;
        if (buf_read) rd_ptr <= rd_ptr == LAST ? '0 : rd_ptr + 1'b1;
        if (buf_write && !buf_read) buf_count <= buf_count + 1'b1;
        else if (buf_read && !buf_write) buf_count <= buf_count - 1'b1;
      end
    end

    // Every accepted beat is written at wr_ptr, also one that goes straight to the output register
    // (wr_ptr then stays, and the slot is free): the memory's write enable is push alone, which
    // does not wait for data_out_ready, so the consumer's ready does not fan out to every memory
    // cell in the same cycle.
    always_ff @(posedge clk) begin
      if (push) mem[wr_ptr] <= data_in;
      if (buf_read) data_out <= mem[rd_ptr];
      else if (bypass && push) data_out <= data_in;
    end
  end
endmodule
