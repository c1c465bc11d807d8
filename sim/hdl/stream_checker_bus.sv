// stream_checker_bus: stream_checker on each of N streams that share their signals, as a fork's
// consumers (one data signal, a valid and a ready bit each) or a join's inputs (a data slice and
// a valid and a ready bit each). With N = 1 it is one stream_checker. A single stream may carry
// its ready in READY_BITS identical copies (a producer splitting its enable's fan-out, as
// skid_buffer's READY_COPIES): copy 0 is checked as the ready, and every copy must equal it.
//
// Verification only (sim/hdl/ is never synthesized). sim/checkers.py binds one instance to every
// stream port of every module of a bench.
//
// Parameters:
//   NAME    port name (messages say NAME[i] for N > 1)
//   WIDTH   bits of the data signal
//   N       streams (bits of valid and ready)
//   SLICED  1: stream i owns data bits [i*WIDTH/N +: WIDTH/N]; 0: every stream sees all of data
//   READY_BITS  bits of ready: N, or copies of one stream's ready when N = 1
module stream_checker_bus #(
    parameter string NAME   = "stream",  // port name
    parameter int    WIDTH  = 1,         // data bits
    parameter int    N      = 1,         // streams
    parameter bit    SLICED = 1'b0,      // stream i owns a slice of data
    parameter int    READY_BITS = N      // bits of ready (copies of it when N = 1)
) (
    input logic             clk,
    input logic             rst,
    input logic [WIDTH-1:0] data,
    input logic [    N-1:0] valid,
    input logic [READY_BITS-1:0] ready
);
  localparam int SW = SLICED ? WIDTH / N : WIDTH;  // data bits of one stream

  if (N < 1 || (SLICED && WIDTH % N != 0)) begin : gen_bad
    $error("stream_checker_bus %s: N=%0d must be >= 1 and divide WIDTH=%0d when SLICED", NAME, N, WIDTH);
  end
  if (READY_BITS != N && (N != 1 || READY_BITS < 1)) begin : gen_bad_ready
    $error("stream_checker_bus %s: READY_BITS=%0d must equal N=%0d, or be copies when N = 1", NAME,
           READY_BITS, N);
  end
  if (READY_BITS > N) begin : gen_copies
    a_ready_copies :
    assert property (@(posedge clk) disable iff (rst) ready == {READY_BITS{ready[0]}})
    else $error("stream_checker_bus: %s: the %0d copies of ready differ (%b) (%m)", NAME, READY_BITS, ready);
  end

  for (genvar i = 0; i < N; i++) begin : gen_stream
    logic [SW-1:0] slice;
    if (SLICED) begin : gen_slice
      assign slice = data[i*SW+:SW];
    end else begin : gen_shared
      assign slice = data;
    end
    stream_checker #(
        .NAME (NAME),
        .INDEX(N > 1 ? i : -1),
        .WIDTH(SW)
    ) u_check (
        .clk,
        .rst,
        .data (slice),
        .valid(valid[i]),
        .ready(ready[READY_BITS > N ? 0 : i])
    );
  end
endmodule
