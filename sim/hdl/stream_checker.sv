// stream_checker: the ready/valid stream rules as assertions, on one stream.
//
// Verification only (sim/hdl/ is never synthesized). Build with Verilator --assert; a broken rule
// prints "stream_checker: <NAME>: <rule> at cycle <n> (<instance path>)" and stops the run.
//
// Rules, checked at every rising edge of clk while rst is low:
//   1. valid, once high, stays high until the beat is taken (valid && ready);
//   2. data stay stable while valid is high and ready is low;
//   3. valid is never unknown (X);
//   4. data are never unknown while valid is high.
// Rules 3 and 4 are $isunknown assertions for four-state simulators. Verilator is two-state (an X
// becomes 0 or 1), so there they come from two runs of the same stimulus that give X different
// values: uninitialised state all zeros in one and all ones in the other, explicit X assignments
// drawn from different seeds (+verilator+rand+reset+0 +verilator+seed+1, then +1 and +2, built
// with --x-assign unique --x-initial unique). The first run records every checked stream with
//   +stream_xtrace_record=<folder>
// and the second compares with
//   +stream_xtrace_compare=<folder>
// failing at the first cycle where valid, ready or (while valid) data differ: a value that
// changes with the values given to X is unknown.
//
// Parameters:
//   NAME   the stream's name in messages (a port name, or a path for an internal stream)
//   INDEX  >= 0: the stream is entry INDEX of a vector of streams (messages say NAME[INDEX])
//   WIDTH  data bits
//
// Cycles count rising edges of clk from time 0, the failing edge numbered by the edges before it.
//
// When the run ends (a deadlock stops it) with the stream offering a beat that has not been taken
// for at least 16 cycles, the checker prints "stream_stall: <NAME>: valid and not ready for the
// last <n> cycles (<instance path>)", so a deadlock report can name the streams that wait.
module stream_checker #(
    parameter string NAME  = "stream",  // name in messages
    parameter int    INDEX = -1,        // entry of a stream vector, -1 for none
    parameter int    WIDTH = 1          // data bits
) (
    input logic             clk,
    input logic             rst,
    input logic [WIDTH-1:0] data,
    input logic             valid,
    input logic             ready
);
  longint unsigned cycle;
  longint unsigned stalled;  // cycles in a row with valid high and ready low, up to this one
  string label;
  int xfd;  // X trace file of the two-run X check, 0 when off
  logic xcompare;  // 1: compare with the trace, 0: record it
  logic xended;  // the recorded trace has ended

  initial cycle = 0;
  initial stalled = 0;
  always @(posedge clk) begin
    cycle <= cycle + 1;
    stalled <= !rst && valid && !ready ? stalled + 1 : 0;
  end

  initial begin
    string folder;
    label = NAME;
    xfd = 0;
    xcompare = 1'b0;
    xended = 1'b0;
    if (INDEX >= 0) label = $sformatf("%s[%0d]", NAME, INDEX);
    if ($value$plusargs("stream_xtrace_record=%s", folder)) begin
      xfd = $fopen($sformatf("%s/%m.trace", folder), "w");
    end else if ($value$plusargs("stream_xtrace_compare=%s", folder)) begin
      xfd = $fopen($sformatf("%s/%m.trace", folder), "r");
      xcompare = 1'b1;
    end
  end

  a_valid_held :
  assert property (@(posedge clk) disable iff (rst) valid && !ready |=> valid)
  else $error("stream_checker: %s: valid dropped before the transfer at cycle %0d (%m)", label, cycle);

  a_data_stable :
  assert property (@(posedge clk) disable iff (rst) valid && !ready |=> $stable(data))
  else $error("stream_checker: %s: data changed while stalled at cycle %0d (%m)", label, cycle);

  a_valid_known :
  assert property (@(posedge clk) disable iff (rst) !$isunknown(valid))
  else $error("stream_checker: %s: valid is unknown (X) at cycle %0d (%m)", label, cycle);

  a_data_known :
  assert property (@(posedge clk) disable iff (rst) valid |-> !$isunknown(data))
  else $error("stream_checker: %s: data unknown (X) while valid at cycle %0d (%m)", label, cycle);

  // The two-run X check: record or compare valid, ready and (while valid) data.
  always @(posedge clk) begin
    if (xfd != 0 && !xended && !rst) begin
      if (!xcompare) begin
        $fwrite(xfd, "%0d %b %b %h\n", cycle, valid, ready, valid ? data : '0);
      end else begin
        longint unsigned c;
        logic v, r;
        logic [WIDTH-1:0] d;
        if ($fscanf(xfd, "%d %b %b %h\n", c, v, r, d) != 4) begin
          xended <= 1'b1;  // the recorded run ended here
        end else begin
          a_valid_x :
          assert (v == valid)
          else
            $error(
                "stream_checker: %s: valid is unknown (X) at cycle %0d: it changes with the values of X (%m)",
                label, cycle);
          a_ready_x :
          assert (r == ready)
          else
            $error(
                "stream_checker: %s: ready is unknown (X) at cycle %0d: it changes with the values of X (%m)",
                label, cycle);
          a_data_x :
          assert (!valid || d == data)
          else
            $error(
                "stream_checker: %s: data unknown (X) while valid at cycle %0d: they change with X (%m)",
                label, cycle);
          if (c != cycle) begin
            $display("stream_checker: %s: the X trace is out of step (cycle %0d, recorded %0d)", label,
                     cycle, c);
          end
        end
      end
    end
  end

  final begin
    if (xfd != 0) $fclose(xfd);
    if (stalled >= 16) $display("stream_stall: %s: valid and not ready for the last %0d cycles (%m)", label, stalled);
  end
endmodule
