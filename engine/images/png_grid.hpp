// Pictures of a model's outputs: N small grayscale images (the samples of a
// generative model, a batch of inputs) laid out as one grid and written as an
// 8-bit grayscale PNG. This is an output sink beside runtime/npy: the engine
// core never sees it, the CLI (`keel run`, the `images:` key of a graph) and
// training call it with a tensor they already hold. Only this module includes
// <png.h>.
//
// Layout: image i sits in row i / columns, column i % columns; each of its
// pixels becomes a scale x scale block (nearest neighbour); a 1-pixel line of
// kSeparator gray lies between neighbouring cells (none around the border),
// and cells past the last image keep that gray. A value v becomes
//   t = (v - low) / (high - low), clamped to [0, 1]; byte = floor(255 t + 0.5)
// computed in double; NaN becomes 0.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "runtime/tensor.hpp"

namespace keel {

// The picture settings of one output (the graph's `images:` entry).
struct ImageGrid {
  std::int64_t height = 0;   // pixels of one image; 0: from a [N, H, W] or [N, 1, H, W] shape
  std::int64_t width = 0;    // both or neither
  double low = 0, high = 1;  // values mapped to black and white; low < high
  std::int64_t scale = 4;    // each pixel becomes a scale x scale block
  std::int64_t columns = 0;  // images per row; 0: ceil(sqrt(N)); never more than N
};

// The gray of the separator lines and of empty cells: visible against both
// black and white images.
constexpr std::uint8_t kSeparator = 128;

// The grid's limits: a PNG larger than this is a mistake (a wrong shape, a
// huge scale), not a picture anyone looks at.
constexpr std::int64_t kMaxGridSide = 1 << 15;
constexpr std::int64_t kMaxGridPixels = std::int64_t{1} << 28;

// How a tensor of `shape` splits into images: count (may be symbolic, < 0,
// before data arrives), height and width.
struct ImageLayout {
  std::int64_t count = 0;
  std::int64_t height = 0;
  std::int64_t width = 0;
};

// Checks `dtype` and `shape` against `spec` as far as the shape is known
// (a symbolic first dimension is fine; a symbolic pixel dimension is not):
// f32, [N, H*W] with the spec's height and width, [N, H, W] or [N, 1, H, W]
// agreeing with them when given, scale and columns positive, low < high.
// Throws keel::Error (usage) with one line saying what does not fit; `what`
// names the tensor ("output 'samples'").
ImageLayout image_layout(DType dtype, std::span<const Dim> shape, const ImageGrid& spec,
                         const std::string& what);

// An 8-bit grayscale picture, row by row.
struct GrayImage {
  std::int64_t width = 0;
  std::int64_t height = 0;
  std::vector<std::uint8_t> pixels;  // height * width
};

// The grid of `images` as described above; keel::Error (usage) for an empty
// tensor, a shape that does not fit, or a grid over the limits.
GrayImage grid_image(const Tensor& images, const ImageGrid& spec, const std::string& what = "the tensor");

// The PNG file's bytes (libpng's simplified API, which reports its errors
// in the image structure instead of jumping out of our frames); keel::Error
// (runtime) when libpng fails.
std::string encode_png(const GrayImage& image);

// grid_image, encode_png, then write_file_atomically: `path` is replaced
// whole or left as it was. keel::Error (usage) for bad input, (runtime) for
// a file that cannot be written.
void write_png_grid(const std::filesystem::path& path, const Tensor& images, const ImageGrid& spec,
                    const std::string& what = "the tensor");

// For the training loop: DIR/samples/epoch-NNN.png (epoch with at least
// three digits), the folder created when missing; returns the path written.
std::filesystem::path epoch_samples_path(const std::filesystem::path& output_dir, std::int64_t epoch);
std::filesystem::path write_epoch_samples(const std::filesystem::path& output_dir, std::int64_t epoch,
                                          const Tensor& images, const ImageGrid& spec,
                                          const std::string& what = "the samples");

}  // namespace keel
