// conv_window: sliding-window generator (im2col in hardware) for 2-D convolution and pooling.
//
// Input: images of IMG_H x IMG_W pixels in raster order, back to back, one pixel per beat with
// its CHANNELS channels in lanes (lane 0 = channel 0). Output: for every image and every output
// position (oy, ox) in raster order, the window's K = KERNEL_H * KERNEL_W pixels (ky, kx) in
// raster order, pixel (oy*STRIDE + ky - PADDING, ox*STRIDE + kx - PADDING), WINDOW_PAR pixels per
// beat: Q = ceil(K / WINDOW_PAR) beats per window, beat q holding window pixels q*WINDOW_PAR ..
// q*WINDOW_PAR + WINDOW_PAR - 1 pixel-major, channel-minor (lane i*CHANNELS + c = slot i's channel
// c). Pixels outside the image are zeros, and so are the slots of the last beat past K (when
// WINDOW_PAR does not divide K). Output positions: OUT_H = (IMG_H + 2*PADDING - KERNEL_H) /
// STRIDE + 1, OUT_W likewise.
//
// A circular line store of DEPTH >= (KERNEL_H + 1) * IMG_W pixels keeps the pixels the windows
// still need, in WINDOW_PAR copies (each written with every pixel, each read by one slot of the
// beat). Pixels are numbered across images (a counter modulo 2**GW): the writer takes pixel g
// while g < F + DEPTH, F being the first pixel the band of windows (the output row) of the
// oldest beat not yet emitted reads, or, once an image's last window row is under way, the next
// image's pixels as far as the store has room: images stream through without a gap. A beat is
// emitted once the last of its pixels that read the image has arrived (a beat of padding only:
// its image's first pixel).
//
// Timing structure: data_in_ready is a flip-flop (the "may take" of the next cycle, computed
// from the pixel counter and both candidate limits); the reader is a generator one beat ahead
// of the beat on offer ("E"), and E's "available" flag is a flip-flop computed from both
// candidate beats and the pixel counter, so no compare lies between a handshake and the
// registers it enables.
//
// Parameters:
//   CHANNELS    lanes per pixel (>= 1)
//   DATA_WIDTH  bits per lane (>= 1)
//   IMG_H       image rows (>= 1)
//   IMG_W       image columns (>= 1)
//   KERNEL_H    window rows (1 .. IMG_H + 2*PADDING)
//   KERNEL_W    window columns (1 .. IMG_W + 2*PADDING)
//   STRIDE      step between windows, rows and columns (>= 1)
//   PADDING     zero pixels around the image, each side (0 .. KERNEL-1)
//   WINDOW_PAR  window pixels per output beat (1 .. KERNEL_H * KERNEL_W; need not divide it)
//
// Latency: a window beat is offered 2 cycles after the cycle the last pixel it reads is taken
//   (1 cycle from that pixel's arrival to the beat), and one cycle after the previous beat at
//   the earliest.
// Initiation interval: one output beat per cycle; OUT_H * OUT_W * Q cycles per image when the
//   output is the bottleneck and the input keeps up (images back to back), IMG_H * IMG_W (one
//   pixel per cycle) when the input is.
module conv_window #(
    parameter int CHANNELS   = 1,  // lanes per beat (channels per pixel)
    parameter int DATA_WIDTH = 8,  // bits per lane
    parameter int IMG_H      = 8,  // image rows
    parameter int IMG_W      = 8,  // image columns
    parameter int KERNEL_H   = 3,  // window rows
    parameter int KERNEL_W   = 3,  // window columns
    parameter int STRIDE     = 1,  // window step (rows and columns)
    parameter int PADDING    = 0,  // zero pixels on each side
    parameter int WINDOW_PAR = 1   // window pixels per output beat
) (
    input  logic                                clk,
    input  logic                                rst,
    input  logic [CHANNELS-1:0][DATA_WIDTH-1:0] data_in,
    input  logic                                data_in_valid,
    output logic                                data_in_ready,
    output logic [WINDOW_PAR-1:0][CHANNELS-1:0][DATA_WIDTH-1:0] data_out,
    output logic                                data_out_valid,
    input  logic                                data_out_ready
);
  localparam int OUT_H = (IMG_H + 2 * PADDING - KERNEL_H) / STRIDE + 1;
  localparam int OUT_W = (IMG_W + 2 * PADDING - KERNEL_W) / STRIDE + 1;
  localparam int PIXELS = IMG_H * IMG_W;
  localparam int AW = $clog2((KERNEL_H + 1) * IMG_W) > 2 ? $clog2((KERNEL_H + 1) * IMG_W) : 2;
  localparam int DEPTH = 1 << AW;  // line store, a power of two >= (KERNEL_H + 1) * IMG_W and >= 4
  // Global pixel numbers modulo 2**GW: any two numbers compared differ by less than 2**(GW-1).
  localparam int GW = $clog2(PIXELS + DEPTH + 1) + 1;

  // Parameter checks: stop elaboration with a message naming the parameter.
  if (CHANNELS < 1 || DATA_WIDTH < 1) begin : gen_bad_lanes
    $error("conv_window: CHANNELS=%0d and DATA_WIDTH=%0d must be >= 1", CHANNELS, DATA_WIDTH);
  end
  if (IMG_H < 1 || IMG_W < 1) begin : gen_bad_image
    $error("conv_window: IMG_H=%0d and IMG_W=%0d must be >= 1", IMG_H, IMG_W);
  end
  if (STRIDE < 1) begin : gen_bad_stride
    $error("conv_window: STRIDE must be >= 1, got %0d", STRIDE);
  end
  if (PADDING < 0 || PADDING >= KERNEL_H || PADDING >= KERNEL_W) begin : gen_bad_padding
    $error("conv_window: PADDING=%0d must be >= 0 and smaller than KERNEL_H and KERNEL_W", PADDING);
  end
  if (WINDOW_PAR < 1 || WINDOW_PAR > KERNEL_H * KERNEL_W) begin : gen_bad_window_par
    $error("conv_window: WINDOW_PAR=%0d must be in 1 .. KERNEL_H*KERNEL_W = %0d", WINDOW_PAR,
           KERNEL_H * KERNEL_W);
  end
  if (KERNEL_H < 1 || KERNEL_W < 1 || KERNEL_H > IMG_H + 2 * PADDING || KERNEL_W > IMG_W + 2 * PADDING)
  begin : gen_bad_kernel
    $error("conv_window: KERNEL_H=%0d x KERNEL_W=%0d must be >= 1 and fit the padded image",
           KERNEL_H, KERNEL_W);
  end

  localparam int K = KERNEL_H * KERNEL_W;  // window pixels
  localparam int Q = (K + WINDOW_PAR - 1) / WINDOW_PAR;  // beats per window
  localparam int QW = Q > 1 ? $clog2(Q) : 1;
  localparam int OXW = OUT_W > 1 ? $clog2(OUT_W) : 1;
  localparam int OYW = OUT_H > 1 ? $clog2(OUT_H) : 1;
  // Global-number steps of the generator: the first window row of the next band, of the next image.
  localparam logic [GW-1:0] BAND_STEP = GW'(STRIDE * IMG_W);
  localparam logic [GW-1:0] IMAGE_STEP = GW'(PIXELS - (OUT_H - 1) * STRIDE * IMG_W);
  localparam logic [GW-1:0] ORIGIN = -GW'(PADDING * IMG_W + PADDING);  // image 0's first window

  // First pixel a band of windows reads, relative to its image: max(0, b*STRIDE - PADDING) * IMG_W.
  function automatic int band_first(int b);
    return (b * STRIDE > PADDING ? b * STRIDE - PADDING : 0) * IMG_W;
  endfunction
  // How far the writer's limit moves when band b+1 (wrapping to the next image) follows band b.
  function automatic int band_step(int b);
    return b == OUT_H - 1 ? PIXELS - band_first(b) : band_first(b + 1) - band_first(b);
  endfunction
  // Whether window column kx of output column ox reads the image (not padding); rows likewise.
  function automatic logic [OUT_W-1:0][KERNEL_W-1:0] column_table();
    for (int o = 0; o < OUT_W; o++)
      for (int k = 0; k < KERNEL_W; k++)
        column_table[o][k] = o * STRIDE + k >= PADDING && o * STRIDE + k < IMG_W + PADDING;
  endfunction
  function automatic logic [OUT_H-1:0][KERNEL_H-1:0] row_table();
    for (int o = 0; o < OUT_H; o++)
      for (int k = 0; k < KERNEL_H; k++)
        row_table[o][k] = o * STRIDE + k >= PADDING && o * STRIDE + k < IMG_H + PADDING;
  endfunction
  // Slot i of beat q holds window pixel q*WINDOW_PAR + i: its offset ky*IMG_W + kx from the
  // window's top-left pixel, and whether it exists (the last beat's slots past K are zeros).
  function automatic logic [Q-1:0][WINDOW_PAR-1:0][GW-1:0] offset_table();
    for (int q = 0; q < Q; q++)
      for (int i = 0; i < WINDOW_PAR; i++)
        offset_table[q][i] = q * WINDOW_PAR + i < K
            ? GW'((q * WINDOW_PAR + i) / KERNEL_W * IMG_W + (q * WINDOW_PAR + i) % KERNEL_W) : '0;
  endfunction
  localparam logic [OUT_W-1:0][KERNEL_W-1:0] IN_COLUMN = column_table();
  localparam logic [OUT_H-1:0][KERNEL_H-1:0] IN_ROW = row_table();
  localparam logic [Q-1:0][WINDOW_PAR-1:0][GW-1:0] OFFSET = offset_table();
  // Whether slot i of beat q lies in an image row for output row oy (and is not past K), and in
  // an image column for output column ox: constant tables, so that the generator only indexes
  // them (no division of the variable beat number by KERNEL_W in the hardware).
  function automatic logic [OUT_H-1:0][Q-1:0][WINDOW_PAR-1:0] slot_row_table();
    for (int o = 0; o < OUT_H; o++)
      for (int q = 0; q < Q; q++)
        for (int i = 0; i < WINDOW_PAR; i++)
          slot_row_table[o][q][i] = q * WINDOW_PAR + i < K && IN_ROW[o][(q*WINDOW_PAR+i)/KERNEL_W];
  endfunction
  function automatic logic [OUT_W-1:0][Q-1:0][WINDOW_PAR-1:0] slot_column_table();
    for (int o = 0; o < OUT_W; o++)
      for (int q = 0; q < Q; q++)
        for (int i = 0; i < WINDOW_PAR; i++)
          slot_column_table[o][q][i] = q * WINDOW_PAR + i < K && IN_COLUMN[o][(q*WINDOW_PAR+i)%KERNEL_W];
  endfunction
  localparam logic [OUT_H-1:0][Q-1:0][WINDOW_PAR-1:0] SLOT_ROW = slot_row_table();
  localparam logic [OUT_W-1:0][Q-1:0][WINDOW_PAR-1:0] SLOT_COLUMN = slot_column_table();
  // a < b for global pixel numbers (their difference is below 2**(GW-1) in magnitude).
  function automatic logic precedes(logic [GW-1:0] a, logic [GW-1:0] b);
    logic [GW-1:0] d;
    d = a - b;
    return d[GW-1];
  endfunction

  // ---- writer: pixels in stream order, into every copy of the line store ----------------------
  logic [GW-1:0] wp, wp_next;  // global number of the next pixel to take, and that plus 1
  logic ready_q, take;

  assign data_in_ready = ready_q;
  assign take = data_in_valid && ready_q;

  // ---- generator G: the beat after the one on offer, kept incrementally (no multiplies) -------
  // q: beat within the window; ox, oy: output position. Global pixel numbers, the window's top
  // row and left column being y0 = oy*STRIDE - PADDING, x0 = ox*STRIDE - PADDING: g_base = the
  // image's pixel 0, g_band = g_base + y0*IMG_W - PADDING (the band's first window), g_win =
  // g_base + y0*IMG_W + x0; slot i reads pixel g_win + OFFSET[q][i]. g_in[i]: slot i reads the
  // image. The beat waits for its last slot that reads the image, a beat of padding only for
  // g_base. The slots' pixel numbers g_addr are registers too (computed with the next beat's
  // counters), so that the beat's wait is a multiplexer and a compare away from the registers.
  logic [QW-1:0] q, q_n;
  logic [OXW-1:0] ox, ox_n;
  logic [OYW-1:0] oy, oy_n;
  logic [GW-1:0] g_win, g_band, g_base, g_need;
  logic [WINDOW_PAR-1:0][GW-1:0] g_addr, g_addr_n;
  logic [WINDOW_PAR-1:0] g_in, g_in_n;

  // ---- the beat on offer next, E ----------------------------------------------------------------
  logic e_full, e_band_last, avail_q;
  logic [WINDOW_PAR-1:0] e_in;
  logic [WINDOW_PAR-1:0][AW-1:0] e_addr;
  logic [GW-1:0] e_need;

  logic last_q, last_ox, last_oy, g_band_last, emit, adv;
  logic t_q, t_ox, t_oy;  // which counter the generator steps (else: the next image)
  logic [GW-1:0] g_win_n, g_band_n, g_base_n;

  always_comb begin
    last_q = q == QW'(Q - 1);
    last_ox = ox == OXW'(OUT_W - 1);
    last_oy = oy == OYW'(OUT_H - 1);
    g_band_last = last_q && last_ox;
    t_q = !last_q;
    t_ox = last_q && !last_ox;
    t_oy = g_band_last && !last_oy;
    // the next beat's counters, global numbers, and which of its slots read the image
    q_n = t_q ? q + 1'b1 : '0;
    ox_n = t_q ? ox : t_ox ? ox + 1'b1 : '0;
    oy_n = t_q || t_ox ? oy : t_oy ? oy + 1'b1 : '0;
    g_in_n = SLOT_ROW[oy_n][q_n] & SLOT_COLUMN[ox_n][q_n];
    g_base_n = g_base;
    g_band_n = g_band;
    if (t_q) begin
      g_win_n = g_win;
    end else if (t_ox) begin  // next window to the right
      g_win_n = g_win + GW'(STRIDE);
    end else if (t_oy) begin  // next row of windows
      g_band_n = g_band + BAND_STEP;
      g_win_n = g_band + BAND_STEP;
    end else begin  // the next image
      g_base_n = g_base + GW'(PIXELS);
      g_band_n = g_band + IMAGE_STEP;
      g_win_n = g_band + IMAGE_STEP;
    end
    // the next beat's slots' pixels; the pixel this beat waits for
    for (int i = 0; i < WINDOW_PAR; i++) g_addr_n[i] = g_win_n + OFFSET[q_n][i];
    g_need = g_base;
    for (int i = 0; i < WINDOW_PAR; i++) begin
      if (g_in[i]) g_need = g_addr[i];
    end
  end

  // E takes G's beat when it is emitted or empty (the cycle after reset).
  assign emit = e_full && avail_q && (!data_out_valid || data_out_ready);
  assign adv = emit || !e_full;

  always_ff @(posedge clk) begin
    if (rst) begin
      {q, ox, oy} <= '0;
      g_base <= '0;
      {g_win, g_band} <= {2{ORIGIN}};
      g_in <= SLOT_ROW[0][0] & SLOT_COLUMN[0][0];
      for (int i = 0; i < WINDOW_PAR; i++) g_addr[i] <= ORIGIN + OFFSET[0][i];
    end else if (adv) begin
      {q, ox, oy} <= {q_n, ox_n, oy_n};
      {g_base, g_band, g_win} <= {g_base_n, g_band_n, g_win_n};
      g_in <= g_in_n;
      g_addr <= g_addr_n;
    end
  end

  always_ff @(posedge clk) begin
    if (rst) e_full <= 1'b0;
    else if (adv) e_full <= 1'b1;
  end

  always_ff @(posedge clk) begin
    if (adv) begin
      e_need <= g_need;  // the pixel E's beat waits for
      e_in <= g_in;
      for (int i = 0; i < WINDOW_PAR; i++) e_addr[i] <= g_addr[i][AW-1:0];
      e_band_last <= g_band_last;
    end
  end

  // Next cycle's "E's beat has its pixel", from this cycle's pixel count (a pixel taken now counts
  // from the cycle after next): E then holds G's beat if it advances now. Compares of registers.
  logic g_ok, e_ok;
  always_comb begin
    g_ok = precedes(g_need, wp);
    e_ok = precedes(e_need, wp);
  end

  always_ff @(posedge clk) begin
    if (rst) avail_q <= 1'b0;
    else avail_q <= adv ? g_ok : e_ok;
  end

  // ---- the writer's limit: F + DEPTH of the band of the oldest beat not yet emitted ----------
  logic [OYW-1:0] lim_band;  // that band
  logic [GW-1:0] lim, lim_up;  // its limit, and the next band's
  logic [GW-1:0] step_after[OUT_H];  // lim_up's step when band b's successor becomes lim_band
  logic bump;

  for (genvar b = 0; b < OUT_H; b++) begin : gen_step
    assign step_after[b] = GW'(band_step(b == OUT_H - 1 ? 0 : b + 1));
  end

  assign bump = emit && e_band_last;

  always_ff @(posedge clk) begin
    if (rst) begin
      lim_band <= '0;
      lim <= GW'(DEPTH);
      lim_up <= GW'(DEPTH + band_step(0));
    end else if (bump) begin
      lim_band <= lim_band == OYW'(OUT_H - 1) ? '0 : lim_band + 1'b1;
      lim <= lim_up;
      lim_up <= lim_up + step_after[lim_band];
    end
  end

  // data_in_ready of the next cycle: wp + take < (the limit then); compares from registers.
  logic w_ok, w_ok_take, w_up_ok, w_up_ok_take;
  always_comb begin
    w_ok = precedes(wp, lim);
    w_ok_take = precedes(wp_next, lim);
    w_up_ok = precedes(wp, lim_up);
    w_up_ok_take = precedes(wp_next, lim_up);
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      wp <= '0;
      wp_next <= GW'(1);
      ready_q <= 1'b1;  // the store is empty
    end else begin
      if (take) begin
        wp <= wp_next;
        wp_next <= wp_next + 1'b1;
      end
      ready_q <= bump ? (take ? w_up_ok_take : w_up_ok) : (take ? w_ok_take : w_ok);
    end
  end

  // ---- output register -------------------------------------------------------------------------
  always_ff @(posedge clk) begin
    if (rst) data_out_valid <= 1'b0;
    else if (emit) data_out_valid <= 1'b1;
    else if (data_out_ready) data_out_valid <= 1'b0;
  end

  // WINDOW_PAR copies of the line store, each written with every pixel and read by its slot.
  for (genvar i = 0; i < WINDOW_PAR; i++) begin : gen_copy
    logic [CHANNELS-1:0][DATA_WIDTH-1:0] line_store[DEPTH];

    always_ff @(posedge clk) begin
      if (take) line_store[wp[AW-1:0]] <= data_in;
    end

    always_ff @(posedge clk) begin
      if (emit) data_out[i] <= e_in[i] ? line_store[e_addr[i]] : '0;
    end
  end
endmodule
