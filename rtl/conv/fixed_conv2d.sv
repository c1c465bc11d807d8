// fixed_conv2d: streaming fixed-point 2-D convolution, a conv_window feeding a fixed_linear.
//
// Input: one image of IMG_H x IMG_W pixels in raster order, one pixel per beat, its IN_CHANNELS
// channels in lanes. Output: the OUT_H x OUT_W output pixels in raster order, each as
// OUT_CHANNELS / OUT_PAR beats of OUT_PAR channels. Every output pixel is the linear layer
// applied to its window (the window's pixels in raster order, channels innermost), so rounding,
// saturation and accumulator width are those of fixed_linear: bit-exact with
// golden.conv.conv2d. The window reaches the linear layer WINDOW_PAR pixels per step, Q =
// ceil(KERNEL_H * KERNEL_W / WINDOW_PAR) steps per window (the last one padded with zero pixels
// when WINDOW_PAR does not divide KERNEL_H * KERNEL_W), so the linear layer has IN_FEATURES =
// Q * WINDOW_PAR * IN_CHANNELS and IN_PAR = WINDOW_PAR * IN_CHANNELS. Weight image:
// fixed_linear's layout for the matrix W[o][(ky*KERNEL_W + kx)*IN_CHANNELS + c] (torch's (O, C,
// KH, KW) weight permuted to (O, KH, KW, C)), with zero columns for the padding pixels;
// sim/memimage.py conv2d_weight_matrix builds it.
//
// A skid_buffer sits between the window generator and the linear layer: the layer's
// data_in_ready (its group-0 flag and pipeline enable) would otherwise reach the enable of every
// window output register and the generator's counters in the same cycle, one long net across
// the layer. It holds up to 2 window beats, which the mapper's window model counts.
//
// Parameters:
//   IN_CHANNELS, OUT_CHANNELS   channels in and out (OUT_PAR divides OUT_CHANNELS)
//   IMG_H, IMG_W                image size
//   KERNEL_H, KERNEL_W, STRIDE, PADDING, WINDOW_PAR   as conv_window
//   OUT_PAR                     output channels per beat
//   IN_WIDTH .. OUT_SIGNED, WEIGHTS_FILE, BIAS_FILE   as fixed_linear
//
// Initiation interval: (OUT_CHANNELS / OUT_PAR) * Q cycles per output pixel.
// Latency: conv_window's (1), the skid_buffer's (1) and fixed_linear's (7 + R + M + ceil(log2(WINDOW_PAR *
//   IN_CHANNELS)) after a group's last step; R = 1 for a block-RAM weight ROM, M = 0 for operands
//   of at most 18 bits; see fixed_linear).
// lint-params: WEIGHTS_FILE="weights.memh" BIAS_FILE="bias.memh"
module fixed_conv2d #(
    parameter int    IN_CHANNELS  = 1,   // input channels (lanes of an input beat)
    parameter int    OUT_CHANNELS = 2,   // output channels
    parameter int    IMG_H        = 8,   // image rows
    parameter int    IMG_W        = 8,   // image columns
    parameter int    KERNEL_H     = 3,   // kernel rows
    parameter int    KERNEL_W     = 3,   // kernel columns
    parameter int    STRIDE       = 1,   // window step
    parameter int    PADDING      = 0,   // zero pixels on each side
    parameter int    OUT_PAR      = 1,   // output channels per beat (divides OUT_CHANNELS)
    parameter int    WINDOW_PAR   = 1,   // window pixels per step (1 .. KERNEL_H * KERNEL_W)
    parameter int    IN_WIDTH     = 8,   // input bits
    parameter int    IN_FRAC      = 4,   // input fraction bits
    parameter bit    IN_SIGNED    = 1,   // input is two's complement
    parameter int    W_WIDTH      = 8,   // weight bits (signed)
    parameter int    W_FRAC       = 6,   // weight fraction bits
    parameter bit    HAS_BIAS     = 1,   // add a bias
    parameter int    B_WIDTH      = 8,   // bias bits (signed)
    parameter int    B_FRAC       = 6,   // bias fraction bits (<= IN_FRAC + W_FRAC)
    parameter int    OUT_WIDTH    = 8,   // output bits
    parameter int    OUT_FRAC     = 4,   // output fraction bits
    parameter bit    OUT_SIGNED   = 1,   // output is two's complement
    parameter string WEIGHTS_FILE = "",  // weight memory image (fixed_linear layout)
    parameter string BIAS_FILE    = ""   // bias memory image
) (
    input  logic                                 clk,
    input  logic                                 rst,
    input  logic [IN_CHANNELS-1:0][IN_WIDTH-1:0] data_in,
    input  logic                                 data_in_valid,
    output logic                                 data_in_ready,
    output logic [    OUT_PAR-1:0][OUT_WIDTH-1:0] data_out,
    output logic                                 data_out_valid,
    input  logic                                 data_out_ready
);
  // Parameter checks of this level (the window and the linear layer check theirs too).
  if (IN_CHANNELS < 1 || OUT_CHANNELS < 1) begin : gen_bad_channels
    $error("fixed_conv2d: IN_CHANNELS=%0d and OUT_CHANNELS=%0d must be >= 1", IN_CHANNELS,
           OUT_CHANNELS);
  end
  if (OUT_PAR < 1 || OUT_CHANNELS % OUT_PAR != 0) begin : gen_bad_out_par
    $error("fixed_conv2d: OUT_PAR=%0d must be >= 1 and divide OUT_CHANNELS=%0d", OUT_PAR,
           OUT_CHANNELS);
  end

  localparam int Q = (KERNEL_H * KERNEL_W + WINDOW_PAR - 1) / WINDOW_PAR;  // steps per window

  logic [WINDOW_PAR*IN_CHANNELS-1:0][IN_WIDTH-1:0] window, sliced;
  logic window_valid, window_ready, sliced_valid, sliced_ready;

  conv_window #(
      .CHANNELS  (IN_CHANNELS),
      .DATA_WIDTH(IN_WIDTH),
      .IMG_H     (IMG_H),
      .IMG_W     (IMG_W),
      .KERNEL_H  (KERNEL_H),
      .KERNEL_W  (KERNEL_W),
      .STRIDE    (STRIDE),
      .PADDING   (PADDING),
      .WINDOW_PAR(WINDOW_PAR)
  ) u_window (
      .clk,
      .rst,
      .data_in,
      .data_in_valid,
      .data_in_ready,
      .data_out      (window),
      .data_out_valid(window_valid),
      .data_out_ready(window_ready)
  );

  skid_buffer #(
      .LANES(WINDOW_PAR * IN_CHANNELS),
      .WIDTH(IN_WIDTH)
  ) u_slice (
      .clk,
      .rst,
      .data_in       (window),
      .data_in_valid (window_valid),
      .data_in_ready (window_ready),
      .data_out      (sliced),
      .data_out_valid(sliced_valid),
      .data_out_ready(sliced_ready)
  );

  fixed_linear #(
      .IN_FEATURES (Q * WINDOW_PAR * IN_CHANNELS),
      .OUT_FEATURES(OUT_CHANNELS),
      .IN_PAR      (WINDOW_PAR * IN_CHANNELS),
      .OUT_PAR     (OUT_PAR),
      .IN_WIDTH    (IN_WIDTH),
      .IN_FRAC     (IN_FRAC),
      .IN_SIGNED   (IN_SIGNED),
      .W_WIDTH     (W_WIDTH),
      .W_FRAC      (W_FRAC),
      .HAS_BIAS    (HAS_BIAS),
      .B_WIDTH     (B_WIDTH),
      .B_FRAC      (B_FRAC),
      .OUT_WIDTH   (OUT_WIDTH),
      .OUT_FRAC    (OUT_FRAC),
      .OUT_SIGNED  (OUT_SIGNED),
      .WEIGHTS_FILE(WEIGHTS_FILE),
      .BIAS_FILE   (BIAS_FILE)
  ) u_linear (
      .clk,
      .rst,
      .data_in       (sliced),
      .data_in_valid (sliced_valid),
      .data_in_ready (sliced_ready),
      .data_out,
      .data_out_valid,
      .data_out_ready
  );
endmodule
