// stream_tb_pkg: the random draws of the verification-only stream transactors (sim/hdl/).
//
// Verification only: nothing in sim/hdl/ is ever synthesized.
//
// Draws come from xorshift32 (Marsaglia 2003, a 32-bit linear-feedback shift-register generator
// of period 2**32 - 1), stepped once per clock cycle. A draw is the state's high 16 bits; an event
// of probability p happens in a cycle when draw < round(p * 65536) (the "threshold").
// sim/harness.py mirrors lfsr_next and lfsr_seed bit for bit, so a run can be replayed in Python.
package stream_tb_pkg;

  // One xorshift32 step.
  function automatic logic [31:0] lfsr_next(logic [31:0] s);
    logic [31:0] x;
    x = s ^ (s << 13);
    x = x ^ (x >> 17);
    x = x ^ (x << 5);
    return x;
  endfunction

  // Initial state of one transactor: the run's seed mixed with the transactor's SALT, then
  // stepped 8 times so that neighbouring seeds and salts give unrelated sequences. Never 0.
  function automatic logic [31:0] lfsr_seed(logic [31:0] seed, logic [31:0] salt);
    logic [31:0] s;
    s = seed ^ (salt * 32'h9E37_79B9);
    if (s == 32'h0) s = 32'h1;
    for (int i = 0; i < 8; i++) s = lfsr_next(s);
    return s;
  endfunction

  // True with probability threshold / 65536 for a uniformly distributed draw (the cycle's draw
  // is the state's high 16 bits).
  function automatic logic draw_below(logic [15:0] draw, logic [16:0] threshold);
    return {1'b0, draw} < threshold;
  endfunction

endpackage
