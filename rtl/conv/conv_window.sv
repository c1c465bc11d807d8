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

  logic [CHANNELS-1:0][DATA_WIDTH-1:0] line_store[DEPTH];

  // ---- writer: pixels in raster order --------------------------------------------------------
  logic [PW-1:0] written;  // pixels of the current image stored so far
  int band_start;          // first pixel any remaining window still reads
  logic take;

  assign data_in_ready = (int'(written) < PIXELS) && (int'(written) < band_start + DEPTH);
  assign take = data_in_valid && data_in_ready;

  always_ff @(posedge clk) begin
    if (take) line_store[written[AW-1:0]] <= data_in;
  end

  // ---- reader: windows in raster order, pixels of a window in raster order ------------------
  int oy, ox, ky, kx;  // current output position and window pixel
  int y, x;
  logic in_image, available, last_beat, out_free, emit, frame_done, reading;

  always_comb begin
    y = oy * STRIDE + ky - PADDING;
    x = ox * STRIDE + kx - PADDING;
    in_image = y >= 0 && y < IMG_H && x >= 0 && x < IMG_W;
    // padding beats of an image wait for its first pixel, so no image starts before its input
    available = written != '0 && (!in_image || (y * IMG_W + x < int'(written)));
    // once the last window has left, no stored pixel is needed: the rest of the image may come
    if (!reading) band_start = PIXELS;
    else band_start = oy * STRIDE - PADDING > 0 ? (oy * STRIDE - PADDING) * IMG_W : 0;
    last_beat = oy == OUT_H - 1 && ox == OUT_W - 1 && ky == KERNEL_H - 1 && kx == KERNEL_W - 1;
  end

  assign out_free = !data_out_valid || data_out_ready;
  assign emit = reading && available && out_free;
  // The next image starts when every window has left and every pixel of this one has arrived.
  assign frame_done = !reading && int'(written) == PIXELS;

  always_ff @(posedge clk) begin
    if (rst || frame_done) begin
      oy <= 0;
      ox <= 0;
      ky <= 0;
      kx <= 0;
      reading <= 1'b1;
    end else if (emit) begin
      if (last_beat) reading <= 1'b0;
      if (kx < KERNEL_W - 1) begin
        kx <= kx + 1;
      end else begin
        kx <= 0;
        if (ky < KERNEL_H - 1) begin
          ky <= ky + 1;
        end else begin
          ky <= 0;
          if (ox < OUT_W - 1) begin
            ox <= ox + 1;
          end else begin
            ox <= 0;
            oy <= oy < OUT_H - 1 ? oy + 1 : 0;
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
  logic [AW-1:0] read_addr;
  assign read_addr = AW'(y * IMG_W + x);

  always_ff @(posedge clk) begin
    if (rst) data_out_valid <= 1'b0;
    else if (emit) data_out_valid <= 1'b1;
    else if (data_out_ready) data_out_valid <= 1'b0;
  end

  always_ff @(posedge clk) begin
    if (emit) data_out <= in_image ? line_store[read_addr] : '0;
  end
endmodule
