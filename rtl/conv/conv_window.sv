// conv_window: sliding-window generator (im2col in hardware) for 2-D convolution and pooling.
//
// Input: one image of IMG_H x IMG_W pixels in raster order, one pixel per beat with its
// CHANNELS channels in lanes (lane 0 = channel 0). Output: for every output position (oy, ox)
// in raster order, KERNEL_H * KERNEL_W beats, the window's pixels (ky, kx) in raster order,
// pixel (oy*STRIDE + ky - PADDING, ox*STRIDE + kx - PADDING) with all its channels in lanes;
// pixels outside the image are zeros. Output positions: OUT_H = (IMG_H + 2*PADDING - KERNEL_H)
// / STRIDE + 1, OUT_W likewise.
//
// A circular line store of DEPTH >= (KERNEL_H + 1) * IMG_W pixels keeps the rows the windows
// still need; the input stalls only when it would overwrite one of them. A new image is taken
// once the previous image's last window has left and all its pixels have arrived.
//
// Parameters:
//   CHANNELS    lanes per beat (>= 1)
//   DATA_WIDTH  bits per lane (>= 1)
//   IMG_H       image rows (>= 1)
//   IMG_W       image columns (>= 1)
//   KERNEL_H    window rows (1 .. IMG_H + 2*PADDING)
//   KERNEL_W    window columns (1 .. IMG_W + 2*PADDING)
//   STRIDE      step between windows, rows and columns (>= 1)
//   PADDING     zero pixels around the image, each side (0 .. KERNEL-1)
//
// Latency: 1 cycle from the arrival of the last pixel a window beat needs to that beat.
// Initiation interval: one output beat per cycle; OUT_H * OUT_W * KERNEL_H * KERNEL_W cycles
//   per image when the output is the bottleneck (it is whenever KERNEL_H * KERNEL_W >= STRIDE**2).
module conv_window #(
    parameter int CHANNELS   = 1,  // lanes per beat (channels per pixel)
    parameter int DATA_WIDTH = 8,  // bits per lane
    parameter int IMG_H      = 8,  // image rows
    parameter int IMG_W      = 8,  // image columns
    parameter int KERNEL_H   = 3,  // window rows
    parameter int KERNEL_W   = 3,  // window columns
    parameter int STRIDE     = 1,  // window step (rows and columns)
    parameter int PADDING    = 0   // zero pixels on each side
) (
    input  logic                                clk,
    input  logic                                rst,
    input  logic [CHANNELS-1:0][DATA_WIDTH-1:0] data_in,
    input  logic                                data_in_valid,
    output logic                                data_in_ready,
    output logic [CHANNELS-1:0][DATA_WIDTH-1:0] data_out,
    output logic                                data_out_valid,
    input  logic                                data_out_ready
);
  localparam int OUT_H = (IMG_H + 2 * PADDING - KERNEL_H) / STRIDE + 1;
  localparam int OUT_W = (IMG_W + 2 * PADDING - KERNEL_W) / STRIDE + 1;
  localparam int PIXELS = IMG_H * IMG_W;
  localparam int AW = $clog2((KERNEL_H + 1) * IMG_W) > 0 ? $clog2((KERNEL_H + 1) * IMG_W) : 1;
  localparam int DEPTH = 1 << AW;  // line store, a power of two >= (KERNEL_H + 1) * IMG_W
  localparam int PW = $clog2(PIXELS + 1);

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
  if (KERNEL_H < 1 || KERNEL_W < 1 || KERNEL_H > IMG_H + 2 * PADDING || KERNEL_W > IMG_W + 2 * PADDING)
  begin : gen_bad_kernel
    $error("conv_window: KERNEL_H=%0d x KERNEL_W=%0d must be >= 1 and fit the padded image",
           KERNEL_H, KERNEL_W);
  end

  // Narrow signed arithmetic: pixel coordinates and raster indices, padding included.
  localparam int SPAN = (IMG_H > IMG_W ? IMG_H : IMG_W) + 2 * PADDING + STRIDE + KERNEL_H + KERNEL_W;
  localparam int YW = $clog2(SPAN + 1) + 1;  // a coordinate, signed
  localparam int IW = $clog2((IMG_H + 2 * PADDING + STRIDE + KERNEL_H) * (IMG_W + 2 * PADDING + STRIDE
                                                                         + KERNEL_W) + DEPTH + 1) + 2;
  localparam int KXW = KERNEL_W > 1 ? $clog2(KERNEL_W) : 1;
  localparam int KYW = KERNEL_H > 1 ? $clog2(KERNEL_H) : 1;
  localparam int OXW = OUT_W > 1 ? $clog2(OUT_W) : 1;
  localparam int OYW = OUT_H > 1 ? $clog2(OUT_H) : 1;
  localparam logic signed [YW-1:0] ORIGIN = -YW'(PADDING);  // first window's top row / left column
  // raster index of the first window's first pixel: (-PADDING) * IMG_W - PADDING
  localparam logic signed [IW-1:0] ORIGIN_IDX = -IW'(PADDING * IMG_W + PADDING);
  localparam logic signed [IW-1:0] ORIGIN_LINE = -IW'(PADDING * IMG_W);  // first window row's start

  logic [CHANNELS-1:0][DATA_WIDTH-1:0] line_store[DEPTH];

  // ---- reader state: the current window beat, kept incrementally (no multiplies) -----------
  // kx, ky: pixel within the window; ox, oy: output position. y0 / x0: the window's top row and
  // left column (oy*STRIDE - PADDING, ox*STRIDE - PADDING); y / x: the beat's pixel; idx = y*IMG_W
  // + x; row_idx = y*IMG_W + x0 (this window row's first pixel); win_idx = y0*IMG_W + x0; line =
  // y0*IMG_W; limit: the writer may fill pixels below it (the first pixel any remaining window
  // still reads, plus DEPTH).
  logic [KXW-1:0] kx;
  logic [KYW-1:0] ky;
  logic [OXW-1:0] ox;
  logic [OYW-1:0] oy;
  logic signed [YW-1:0] y0, x0, y, x;
  logic signed [IW-1:0] idx, row_idx, win_idx, line, limit;
  logic reading;  // windows of the current image are still to be sent

  // ---- writer: pixels in raster order --------------------------------------------------------
  logic [PW-1:0] written;  // pixels of the current image stored so far
  logic take;

  assign data_in_ready = (int'(written) < PIXELS) && ($signed(IW'(written)) < limit);
  assign take = data_in_valid && data_in_ready;

  always_ff @(posedge clk) begin
    if (take) line_store[written[AW-1:0]] <= data_in;
  end

  // ---- reader: windows in raster order, pixels of a window in raster order ------------------
  logic in_image, available, last_kx, last_ky, last_ox, last_oy, last_beat, out_free, emit, frame_done;

  always_comb begin
    in_image = y >= 0 && y < YW'(IMG_H) && x >= 0 && x < YW'(IMG_W);
    // padding beats of an image wait for its first pixel, so no image starts before its input
    available = written != '0 && (!in_image || idx < $signed(IW'(written)));
    last_kx = kx == KXW'(KERNEL_W - 1);
    last_ky = ky == KYW'(KERNEL_H - 1);
    last_ox = ox == OXW'(OUT_W - 1);
    last_oy = oy == OYW'(OUT_H - 1);
    last_beat = last_oy && last_ox && last_ky && last_kx;
  end

  assign out_free = !data_out_valid || data_out_ready;
  assign emit = reading && available && out_free;
  // The next image starts when every window has left and every pixel of this one has arrived.
  assign frame_done = !reading && int'(written) == PIXELS;

  // The writer's limit for the next window band, max(0, (oy+1)*STRIDE - PADDING) * IMG_W + DEPTH:
  // band_lim runs ahead by one band (line + STRIDE*IMG_W + DEPTH); bands up to oy = PADDING /
  // STRIDE still start at pixel 0.
  localparam int OY_LIVE = PADDING / STRIDE;  // the first oy whose next band starts below row 0
  localparam logic signed [IW-1:0] ORIGIN_LIM = IW'(STRIDE * IMG_W + DEPTH - PADDING * IMG_W);
  logic signed [IW-1:0] band_lim;

  always_ff @(posedge clk) begin
    if (rst || frame_done) begin
      {kx, ky, ox, oy} <= '0;
      {y0, x0, y, x} <= {ORIGIN, ORIGIN, ORIGIN, ORIGIN};
      {idx, row_idx, win_idx} <= {ORIGIN_IDX, ORIGIN_IDX, ORIGIN_IDX};
      line <= ORIGIN_LINE;
      band_lim <= ORIGIN_LIM;
      limit <= IW'(DEPTH);  // max(0, ORIGIN_LINE) + DEPTH, ORIGIN_LINE <= 0
      reading <= 1'b1;
    end else if (emit) begin
      if (last_beat) begin
        reading <= 1'b0;
        limit <= IW'(PIXELS);  // once the last window has left, the rest of the image may come
      end
      if (!last_kx) begin
        kx <= kx + 1'b1;
        x <= x + 1'b1;
        idx <= idx + 1'b1;
      end else begin
        kx <= '0;
        if (!last_ky) begin  // next row of the window
          ky <= ky + 1'b1;
          y <= y + 1'b1;
          x <= x0;
          row_idx <= row_idx + IW'(IMG_W);
          idx <= row_idx + IW'(IMG_W);
        end else begin
          ky <= '0;
          y <= y0;
          if (!last_ox) begin  // next window to the right
            ox <= ox + 1'b1;
            x0 <= x0 + YW'(STRIDE);
            x <= x0 + YW'(STRIDE);
            win_idx <= win_idx + IW'(STRIDE);
            row_idx <= win_idx + IW'(STRIDE);
            idx <= win_idx + IW'(STRIDE);
          end else begin
            ox <= '0;
            x0 <= ORIGIN;
            x <= ORIGIN;
            if (!last_oy) begin  // next row of windows
              oy <= oy + 1'b1;
              y0 <= y0 + YW'(STRIDE);
              y <= y0 + YW'(STRIDE);
              line <= line + IW'(STRIDE * IMG_W);
              win_idx <= line + IW'(STRIDE * IMG_W - PADDING);
              row_idx <= line + IW'(STRIDE * IMG_W - PADDING);
              idx <= line + IW'(STRIDE * IMG_W - PADDING);
              band_lim <= band_lim + IW'(STRIDE * IMG_W);
              limit <= int'(oy) >= OY_LIVE ? band_lim : IW'(DEPTH);
            end else begin
              oy <= '0;
              y0 <= ORIGIN;
              y <= ORIGIN;
              line <= ORIGIN_LINE;
              band_lim <= ORIGIN_LIM;
              {idx, row_idx, win_idx} <= {ORIGIN_IDX, ORIGIN_IDX, ORIGIN_IDX};
            end
          end
        end
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst || frame_done) written <= '0;
    else if (take) written <= written + PW'(1);
  end

  // ---- output register -------------------------------------------------------------------------
  always_ff @(posedge clk) begin
    if (rst) data_out_valid <= 1'b0;
    else if (emit) data_out_valid <= 1'b1;
    else if (data_out_ready) data_out_valid <= 1'b0;
  end

  always_ff @(posedge clk) begin
    if (emit) data_out <= in_image ? line_store[idx[AW-1:0]] : '0;
  end
endmodule
