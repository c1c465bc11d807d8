// pipe_ctrl: the valid bits and the common advance of a STAGES-deep compute pipeline that ends
// in a skid_buffer.
//
// A compute block registers its datapath in STAGES register levels, every one enabled by
// `advance`, and offers the last level to a skid_buffer (out_valid / out_ready are that buffer's
// data_in_valid / data_in_ready). The pipeline moves whenever its last level is empty or is being
// taken, so it stalls only while a beat waits at its end. Because the skid_buffer's data_in_ready
// is a flip-flop, in_ready (= advance) depends on registers only: no ready path crosses the block.
//
// Parameters:
//   STAGES  register levels of the datapath (>= 1)
//
// Latency: STAGES cycles from in_valid && in_ready to out_valid. Initiation interval: 1.
module pipe_ctrl #(
    parameter int STAGES = 1  // register levels of the datapath
) (
    input  logic clk,
    input  logic rst,
    input  logic in_valid,
    output logic in_ready,
    output logic out_valid,
    input  logic out_ready,  // the skid_buffer's data_in_ready (a flip-flop)
    output logic advance     // enable of every datapath register level
);
  if (STAGES < 1) begin : gen_bad_stages
    $error("pipe_ctrl: STAGES must be >= 1, got %0d", STAGES);
  end

  logic [STAGES-1:0] valid;  // level k holds a beat

  assign advance = !valid[STAGES-1] || out_ready;
  assign in_ready = advance;
  assign out_valid = valid[STAGES-1];

  always_ff @(posedge clk) begin
    if (rst) valid <= '0;
    else if (advance) valid <= STAGES'({valid, in_valid});
  end
endmodule
