// stream_checker_bus: stream_checker on each of N streams that share their signals, as a fork's
// consumers (one data signal, a valid and a ready bit each) or a join's inputs (a data slice and
// a valid and a ready bit each). With N = 1 it is one stream_checker.
//
// Verification only (sim/hdl/ is never synthesized). sim/checkers.py binds one instance to every
// stream port of every module of a bench.
//
// Parameters:
//   NAME    port name (messages say NAME[i] for N > 1)
//   WIDTH   bits of the data signal
//   N       streams (bits of valid and ready)
//   SLICED  1: stream i owns data bits [i*WIDTH/N +: WIDTH/N]; 0: every stream sees all of data
module stream_checker_bus #(
    parameter string NAME   = "stream",  // port name
    parameter int    WIDTH  = 1,         // data bits
    parameter int    N      = 1,         // streams
    parameter bit    SLICED = 1'b0       // stream i owns a slice of data
) (
    input logic             clk,
    input logic             rst,
    input logic [WIDTH-1:0] data,
    input logic [    N-1:0] valid,
    input logic [    N-1:0] ready
);
  localparam int SW = SLICED ? WIDTH / N : WIDTH;  // data bits of one stream

  if (N < 1 || (SLICED && WIDTH % N != 0)) begin : gen_bad
    $error("stream_checker_bus %s: N=%0d must be >= 1 and divide WIDTH=%0d when SLICED", NAME, N, WIDTH);
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
        .ready(ready[i])
    );
  end
endmodule
