// stream_source: drives a ready/valid stream with the beats of a $readmemh image, inserting
// seeded random idle cycles, and records the cycle of every transfer.
//
// Verification only (sim/hdl/ is never synthesized); needs Verilator --timing or any event-driven
// simulator. Follows the stream rules it checks elsewhere: valid never waits for ready, and a beat
// stays on data with valid high until it is taken.
//
// Parameters:
//   NAME       plusarg prefix and name in messages
//   BEAT_BITS  bits of one beat (lanes x width, lane 0 in the low bits)
//   DEPTH      capacity of the image memory in beats (>= the beats of any run)
//   SALT       tells the random draws of the transactors of one run apart
//
// Run-time settings: the ports seed / gap_threshold / beats, and two plusargs,
//   +<NAME>_image=<file>   $readmemh image, one beat per word (required)
//   +<NAME>_stamps=<file>  written at the end of the run: the cycle of every transfer, one
//                          decimal number per line (optional)
//
// Timing: a register stage. At every rising edge without reset the random state steps once;
// when the output is free (no beat, or the beat is being taken) the next beat is loaded unless
// the cycle's draw is below gap_threshold (then the stream idles for that cycle). With
// gap_threshold 0 the source offers one beat per cycle. Cycles count rising edges of clk from
// time 0, the edge of the transfer numbered by the edges before it.
module stream_source #(
    parameter string NAME      = "source",  // plusarg prefix, name in messages
    parameter int    BEAT_BITS = 8,         // bits per beat
    parameter int    DEPTH     = 1024,      // image capacity in beats
    parameter int    SALT      = 1          // random stream of this transactor
) (
    input  logic                 clk,
    input  logic                 rst,
    input  logic [         31:0] seed,           // random seed of the run
    input  logic [         16:0] gap_threshold,  // idle with probability gap_threshold / 65536
    input  logic [         31:0] beats,          // beats to send (<= DEPTH)
    output logic [BEAT_BITS-1:0] data,
    output logic                 valid,
    input  logic                 ready,
    output logic                 done,           // every beat has been taken
    output logic [         31:0] count           // beats taken so far
);
  import stream_tb_pkg::*;

  localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1;

  if (BEAT_BITS < 1) begin : gen_bad_bits
    $error("stream_source: BEAT_BITS must be >= 1, got %0d", BEAT_BITS);
  end
  if (DEPTH < 1) begin : gen_bad_depth
    $error("stream_source: DEPTH must be >= 1, got %0d", DEPTH);
  end

  logic [BEAT_BITS-1:0] mem[DEPTH];
  longint unsigned stamps[DEPTH];
  logic [31:0] loaded;  // beats put on the stream so far
  logic [31:0] state;
  longint unsigned cycle;
  string stamps_file = "";

  initial begin
    string image;
    if (!$value$plusargs({NAME, "_image=%s"}, image)) begin
      $fatal(1, "stream_source %s: no +%s_image=<file> plusarg", NAME, NAME);
    end
    $readmemh(image, mem);
    void'($value$plusargs({NAME, "_stamps=%s"}, stamps_file));
  end

  initial cycle = 0;
  always @(posedge clk) begin
    cycle <= cycle + 1;
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      state  <= lfsr_seed(seed, SALT);
      valid  <= 1'b0;
      loaded <= '0;
      count   <= '0;
      if (beats > DEPTH) begin
        $fatal(1, "stream_source %s: %0d beats do not fit DEPTH=%0d", NAME, beats, DEPTH);
      end
    end else begin
      state <= lfsr_next(state);
      if (valid && ready) begin
        stamps[AW'(count)] <= cycle;
        count <= count + 1;
      end
      if (!valid || ready) begin
        if (loaded < beats && !draw_below(state[31:16], gap_threshold)) begin
          valid  <= 1'b1;
          data   <= mem[AW'(loaded)];
          loaded <= loaded + 1;
        end else begin
          valid <= 1'b0;
        end
      end
    end
  end

  assign done = count == beats;

  final begin
    if (stamps_file != "") begin
      int fd;
      fd = $fopen(stamps_file, "w");
      if (fd == 0) begin
        $display("stream_source %s: cannot write %s", NAME, stamps_file);
      end else begin
        for (int i = 0; i < int'(count) && i < DEPTH; i++) $fwrite(fd, "%0d\n", stamps[i]);
        $fclose(fd);
      end
    end
  end
endmodule
