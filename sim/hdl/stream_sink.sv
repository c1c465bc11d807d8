// stream_sink: takes the beats of a ready/valid stream under seeded random back-pressure and
// records every beat with the cycle it was taken.
//
// Verification only (sim/hdl/ is never synthesized).
//
// Parameters:
//   NAME       plusarg prefix and name in messages
//   BEAT_BITS  bits of one beat (lanes x width, lane 0 in the low bits)
//   DEPTH      beats recorded (later beats are counted, not stored)
//   SALT       tells the random draws of the transactors of one run apart
//
// Run-time settings: the ports seed / stall_threshold / after_valid / beats, and one plusarg,
//   +<NAME>_out=<file>   written at the end of the run: one line "<cycle> <hex beat>" per beat
//
// Back-pressure, decided at every rising edge without reset (the random state steps once):
//   after_valid = 0: ready is high in the next cycle unless the cycle's draw is below
//                    stall_threshold (independent of the stream);
//   after_valid = 1: ready rises only in the cycle after one in which valid was high and no beat
//                    was taken, and not when the draw is below stall_threshold. A producer whose
//                    valid waits for ready never gets a beat out: the run deadlocks.
// With stall_threshold 0 and after_valid 0, ready is always high. Cycles count rising edges of
// clk from time 0, the edge of the transfer numbered by the edges before it.
module stream_sink #(
    parameter string NAME      = "sink",  // plusarg prefix, name in messages
    parameter int    BEAT_BITS = 8,       // bits per beat
    parameter int    DEPTH     = 1024,    // beats recorded
    parameter int    SALT      = 2        // random stream of this transactor
) (
    input  logic                 clk,
    input  logic                 rst,
    input  logic [         31:0] seed,             // random seed of the run
    input  logic [         16:0] stall_threshold,  // stall with probability stall_threshold / 65536
    input  logic                 after_valid,      // raise ready only after seeing valid
    input  logic [         31:0] beats,            // beats expected
    input  logic [BEAT_BITS-1:0] data,
    input  logic                 valid,
    output logic                 ready,
    output logic                 done,             // at least `beats` beats taken
    output logic [         31:0] count             // beats taken so far
);
  import stream_tb_pkg::*;

  localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1;

  if (BEAT_BITS < 1) begin : gen_bad_bits
    $error("stream_sink: BEAT_BITS must be >= 1, got %0d", BEAT_BITS);
  end
  if (DEPTH < 1) begin : gen_bad_depth
    $error("stream_sink: DEPTH must be >= 1, got %0d", DEPTH);
  end

  logic [BEAT_BITS-1:0] beats_mem[DEPTH];
  longint unsigned stamps[DEPTH];
  logic [31:0] state;
  longint unsigned cycle;
  string out_file = "";

  initial begin
    void'($value$plusargs({NAME, "_out=%s"}, out_file));
  end

  initial cycle = 0;
  always @(posedge clk) begin
    cycle <= cycle + 1;
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      state <= lfsr_seed(seed, SALT);
      ready <= 1'b0;
      count <= '0;
    end else begin
      state <= lfsr_next(state);
      if (valid && ready) begin
        if (count < DEPTH) begin
          beats_mem[AW'(count)] <= data;
          stamps[AW'(count)] <= cycle;
        end
        count <= count + 1;
      end
      if (after_valid) ready <= valid && !ready && !draw_below(state[31:16], stall_threshold);
      else ready <= !draw_below(state[31:16], stall_threshold);
    end
  end

  assign done = count >= beats;

  final begin
    if (out_file != "") begin
      int fd;
      fd = $fopen(out_file, "w");
      if (fd == 0) begin
        $display("stream_sink %s: cannot write %s", NAME, out_file);
      end else begin
        for (int i = 0; i < int'(count) && i < DEPTH; i++) begin
          $fwrite(fd, "%0d %h\n", stamps[i], beats_mem[i]);
        end
        $fclose(fd);
      end
    end
  end
endmodule
