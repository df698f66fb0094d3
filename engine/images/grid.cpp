// The grid's layout and the mapping of values to gray levels
// (images/png_grid.hpp); the PNG encoding is png_file.cpp's.
#include <cmath>

#include "base/error.hpp"
#include "images/png_grid.hpp"

namespace keel {

namespace {

std::string dims(std::int64_t h, std::int64_t w) { return std::to_string(h) + " x " + std::to_string(w); }

// The smallest c with c * c >= n: a square grid, or one column wider.
std::int64_t square_columns(std::int64_t n) {
  auto c = static_cast<std::int64_t>(std::sqrt(static_cast<double>(n)));
  while (c * c < n) ++c;
  while (c > 1 && (c - 1) * (c - 1) >= n) --c;
  return c;
}

struct GridSize {
  std::int64_t columns, rows, width, height;
};

// The grid of `count` images of h x w pixels; keel::Error past the limits.
// Every product is checked against the limits before the next is taken, so
// none overflows.
GridSize grid_size(std::int64_t count, std::int64_t h, std::int64_t w, const ImageGrid& spec,
                   const std::string& what) {
  const auto too_big = [&](const std::string& detail) {
    throw usage_error(what + ": the picture would be " + detail + ", beyond the " +
                      std::to_string(kMaxGridSide) + "-pixel side or " +
                      std::to_string(kMaxGridPixels >> 20) +
                      "M-pixel limit of an image grid (check the shape, scale and columns)");
  };
  if (h > kMaxGridSide / spec.scale || w > kMaxGridSide / spec.scale)
    too_big(dims(h, w) + " pixels per image at scale " + std::to_string(spec.scale));
  const std::int64_t cell_h = h * spec.scale, cell_w = w * spec.scale;
  const std::int64_t columns = spec.columns > 0 ? std::min(spec.columns, count) : square_columns(count);
  const std::int64_t rows = (count + columns - 1) / columns;
  if (columns > kMaxGridSide / (cell_w + 1) || rows > kMaxGridSide / (cell_h + 1))
    too_big(std::to_string(rows) + " rows of " + std::to_string(columns) + " images of " +
            dims(cell_h, cell_w) + " pixels");
  const GridSize g{columns, rows, columns * (cell_w + 1) - 1, rows * (cell_h + 1) - 1};
  if (g.width * g.height > kMaxGridPixels) too_big(dims(g.height, g.width) + " pixels");
  return g;
}

}  // namespace

ImageLayout image_layout(DType dtype, std::span<const Dim> shape, const ImageGrid& spec,
                         const std::string& what) {
  const auto bad = [&](const std::string& why) { throw usage_error(what + ": " + why); };
  if ((spec.height > 0) != (spec.width > 0) || spec.height < 0 || spec.width < 0)
    bad("give both height and width of its images, or neither");
  if (spec.scale < 1) bad("the image scale must be at least 1, not " + std::to_string(spec.scale));
  if (spec.columns < 0) bad("the grid's columns must be at least 1, not " + std::to_string(spec.columns));
  if (!std::isfinite(spec.low) || !std::isfinite(spec.high) || !(spec.low < spec.high))
    bad("the value range must be two finite numbers [low, high] with low < high");
  if (dtype != DType::f32) bad("a picture is made from f32 values, not " + std::string(dtype_name(dtype)));
  const std::string shown = shape_for_message(shape);
  ImageLayout l;
  if (shape.size() == 2) {
    if (spec.height == 0)
      bad("a tensor of shape " + shown + " (one row of pixels per image) needs height and width");
    if (!is_static(shape[1]) || shape[1] != spec.height * spec.width)
      bad("shape " + shown + " does not split into " + dims(spec.height, spec.width) +
          " images: each row must hold " + std::to_string(spec.height * spec.width) + " values");
    l = {shape[0], spec.height, spec.width};
  } else if (shape.size() == 3 || shape.size() == 4) {
    if (shape.size() == 4 && shape[1] != 1)
      bad("shape " + shown + " is not [N, 1, H, W]: a grayscale picture has one channel");
    const Dim h = shape[shape.size() - 2], w = shape[shape.size() - 1];
    if (!is_static(h) || !is_static(w))
      bad("shape " + shown + ": the image's height and width must be known");
    if (spec.height > 0 && (h != spec.height || w != spec.width))
      bad("shape " + shown + " holds " + dims(h, w) + " images, not " + dims(spec.height, spec.width));
    l = {shape[0], h, w};
  } else {
    bad("a tensor of shape " + shown + " is not a stack of images ([N, H*W], [N, H, W] or [N, 1, H, W])");
  }
  if (l.height == 0 || l.width == 0) bad("shape " + shown + ": the images have no pixels");
  if (l.count == 0) bad("shape " + shown + " holds no images");
  // One image alone must fit even before the count is known.
  grid_size(l.count > 0 ? l.count : 1, l.height, l.width, spec, what);
  return l;
}

GrayImage grid_image(const Tensor& images, const ImageGrid& spec, const std::string& what) {
  if (images.empty() || images.numel() == 0) throw usage_error(what + " is empty: there is no image to draw");
  const ImageLayout l = image_layout(images.dtype(), images.shape(), spec, what);
  const GridSize g = grid_size(l.count, l.height, l.width, spec, what);
  GrayImage out{g.width, g.height, std::vector<std::uint8_t>(std::size_t(g.width * g.height), kSeparator)};
  const float* v = images.as<float>();
  const double span = spec.high - spec.low;
  for (std::int64_t i = 0; i < l.count; ++i) {
    const std::int64_t top = (i / g.columns) * (l.height * spec.scale + 1);
    const std::int64_t left = (i % g.columns) * (l.width * spec.scale + 1);
    for (std::int64_t y = 0; y < l.height; ++y)
      for (std::int64_t x = 0; x < l.width; ++x) {
        const double t = (double(v[(i * l.height + y) * l.width + x]) - spec.low) / span;
        // NaN fails both comparisons and stays black.
        const auto gray = static_cast<std::uint8_t>(t >= 1 ? 255 : t > 0 ? std::floor(255 * t + 0.5) : 0);
        for (std::int64_t dy = 0; dy < spec.scale; ++dy) {
          std::uint8_t* row = &out.pixels[std::size_t((top + y * spec.scale + dy) * g.width + left)];
          for (std::int64_t dx = 0; dx < spec.scale; ++dx) row[x * spec.scale + dx] = gray;
        }
      }
  }
  return out;
}

}  // namespace keel
