// The image grid (images/png_grid.hpp): the layout and gray levels checked
// pixel by pixel against values worked out by hand from the documented rules,
// the PNG header read byte by byte (not through libpng), and every refusal.
#include "images/png_grid.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "files.hpp"

using namespace keel;
using keel::test::slurp;
using keel::test::TempDir;

namespace {

Tensor tensor(const Shape& shape, const std::vector<float>& values) {
  Tensor t(DType::f32, shape);
  REQUIRE(std::size_t(t.numel()) == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) t.as<float>()[i] = values[i];
  return t;
}

std::uint8_t at(const GrayImage& g, std::int64_t y, std::int64_t x) {
  return g.pixels[std::size_t(y * g.width + x)];
}

// The message of the keel::Error `f` throws, and its exit code.
template <class F>
std::pair<ExitCode, std::string> error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.code(), e.message()};
  }
  FAIL("no keel::Error");
  return {};
}

std::uint32_t be32(const std::string& b, std::size_t at) {
  return std::uint32_t(std::uint8_t(b[at])) << 24 | std::uint32_t(std::uint8_t(b[at + 1])) << 16 |
         std::uint32_t(std::uint8_t(b[at + 2])) << 8 | std::uint32_t(std::uint8_t(b[at + 3]));
}

}  // namespace

TEST_CASE("three 2 x 2 images make a 2 x 2 grid with a 1-pixel gray separator and a gray empty cell") {
  // Default columns: ceil(sqrt(3)) = 2, so 2 rows; scale 1.
  const Tensor t = tensor({3, 4}, {0, 1, 0.5f, 0.25f, 1, 1, 1, 1, 0, 0, 0, 0});
  const GrayImage g = grid_image(t, {.height = 2, .width = 2, .scale = 1});
  REQUIRE(g.width == 5);
  REQUIRE(g.height == 5);
  const std::vector<std::uint8_t> want = {
      0,   255, 128, 255, 255,  // image 0 row 0, separator, image 1 row 0
      128, 64,  128, 255, 255,  // 0.5 -> floor(127.5 + 0.5) = 128; 0.25 -> floor(63.75 + 0.5) = 64
      128, 128, 128, 128, 128,  // the separator row
      0,   0,   128, 128, 128,  // image 2, then the empty cell
      0,   0,   128, 128, 128,
  };
  CHECK(g.pixels == want);
}

TEST_CASE("scale enlarges every pixel into a block while the separator stays one pixel wide") {
  const Tensor t = tensor({2, 1, 2}, {0, 1, 1, 0});
  const GrayImage g = grid_image(t, {.scale = 3});
  // Two 1 x 2 images side by side: 2 * (2 * 3) + 1 wide, 1 * 3 high.
  REQUIRE(g.width == 13);
  REQUIRE(g.height == 3);
  for (std::int64_t y = 0; y < 3; ++y) {
    INFO("row " << y);
    for (std::int64_t x = 0; x < 3; ++x) CHECK(at(g, y, x) == 0);
    for (std::int64_t x = 3; x < 6; ++x) CHECK(at(g, y, x) == 255);
    CHECK(at(g, y, 6) == kSeparator);
    for (std::int64_t x = 7; x < 10; ++x) CHECK(at(g, y, x) == 255);
    for (std::int64_t x = 10; x < 13; ++x) CHECK(at(g, y, x) == 0);
  }
}

TEST_CASE("the range maps low to black and high to white, clamps beyond it and draws NaN black") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const Tensor t = tensor({1, 9}, {-1, 1, 0, 0.5f, -3, 7, nan, inf, -inf});
  const GrayImage g = grid_image(t, {.height = 1, .width = 9, .low = -1, .high = 1, .scale = 1});
  // t = (v + 1) / 2: 0 -> 0.5 -> 128; 0.5 -> 0.75 -> floor(191.25 + 0.5) = 191.
  CHECK(g.pixels == std::vector<std::uint8_t>{0, 255, 128, 191, 0, 255, 0, 255, 0});
}

TEST_CASE("columns sets the images per row but never more than there are images") {
  const Tensor five = tensor({5, 1}, {0, 0, 0, 0, 0});
  const GrayImage g = grid_image(five, {.height = 1, .width = 1, .scale = 1, .columns = 4});
  CHECK(g.width == 7);  // 4 cells and 3 separators
  CHECK(g.height == 3);
  const GrayImage capped = grid_image(five, {.height = 1, .width = 1, .scale = 1, .columns = 10});
  CHECK(capped.width == 9);
  CHECK(capped.height == 1);
  // Default: ceil(sqrt(5)) = 3 columns, 2 rows.
  const GrayImage square = grid_image(five, {.height = 1, .width = 1, .scale = 1});
  CHECK(square.width == 5);
  CHECK(square.height == 3);
}

TEST_CASE("[N, H*W], [N, H, W] and [N, 1, H, W] tensors of the same values make the same grid") {
  std::vector<float> v(6 * 12);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(i % 17) / 16.0f;
  const GrayImage flat = grid_image(tensor({6, 12}, v), {.height = 3, .width = 4});
  const GrayImage cube = grid_image(tensor({6, 3, 4}, v), {});
  const GrayImage nchw = grid_image(tensor({6, 1, 3, 4}, v), {.height = 3, .width = 4});
  CHECK(flat.width == 3 * 17 - 1);  // 3 columns of 4 * 4 pixels
  CHECK(flat.height == 2 * 13 - 1);
  CHECK(flat.pixels == cube.pixels);
  CHECK(flat.pixels == nchw.pixels);
  // Image 4 (row 1, column 1), pixel (2, 3), scaled by 4: value index 4 * 12 + 2 * 4 + 3 = 59.
  CHECK(at(flat, 13 + 2 * 4 + 1, 17 + 3 * 4 + 2) == std::uint8_t(std::floor(255.0 * (59 % 17) / 16.0 + 0.5)));
}

TEST_CASE("write_png_grid writes an 8-bit grayscale PNG of the grid's size") {
  TempDir dir;
  const auto path = dir / "grid.png";
  write_png_grid(path, tensor({3, 4}, std::vector<float>(12, 0.5f)), {.height = 2, .width = 2});
  const std::string b = slurp(path);
  REQUIRE(b.size() > 33);
  CHECK(b.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  CHECK(b.substr(12, 4) == "IHDR");
  CHECK(be32(b, 16) == 2 * 9 - 1);  // width: 2 cells of 2 * 4 pixels
  CHECK(be32(b, 20) == 2 * 9 - 1);
  CHECK(int(b[24]) == 8);  // bit depth
  CHECK(int(b[25]) == 0);  // color type: grayscale
  CHECK(dir.entries() == std::vector<std::string>{"grid.png"});
}

TEST_CASE("a picture that cannot be drawn is refused with one line and leaves the old file as it was") {
  TempDir dir;
  const auto path = dir.write("grid.png", "the last good picture");
  const ImageGrid eight{.height = 8, .width = 8};
  const auto refuse = [&](const Tensor& t, const ImageGrid& spec, const std::string& fragment) {
    const auto [code, message] = error_of([&] { write_png_grid(path, t, spec, "output 'samples'"); });
    INFO(message);
    CHECK(code == ExitCode::usage);
    CHECK(message.find(fragment) != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(slurp(path) == "the last good picture");
    CHECK(dir.entries() == std::vector<std::string>{"grid.png"});
  };
  refuse(Tensor(), eight, "output 'samples' is empty");
  refuse(Tensor(DType::f32, {0, 64}), eight, "is empty");
  refuse(Tensor(DType::i32, {2, 64}), eight, "f32 values, not i32");
  refuse(Tensor(DType::f32, {2, 63}), eight, "shape [2, 63] does not split into 8 x 8 images");
  refuse(Tensor(DType::f32, {2, 64}), {}, "needs height and width");
  refuse(Tensor(DType::f32, {2, 3, 8, 8}), {}, "a grayscale picture has one channel");
  refuse(Tensor(DType::f32, {128}), eight, "is not a stack of images");
  refuse(Tensor(DType::f32, {2, 8, 8}), {.height = 4, .width = 16}, "holds 8 x 8 images, not 4 x 16");
  refuse(Tensor(DType::f32, {2, 64}), {.height = 8}, "give both height and width");
  refuse(Tensor(DType::f32, {2, 64}), {.height = 8, .width = 8, .low = 1, .high = 1}, "low < high");
  refuse(Tensor(DType::f32, {2, 64}), {.height = 8, .width = 8, .scale = 0}, "scale must be at least 1");
  refuse(Tensor(DType::f32, {2, 64}), {.height = 8, .width = 8, .scale = 5000}, "beyond the");
  refuse(Tensor(DType::f32, {10000, 1}), {.height = 1, .width = 1, .columns = 1}, "beyond the");
}

TEST_CASE("a path that cannot be written is a runtime error naming it") {
  TempDir dir;
  const auto path = dir / "missing" / "grid.png";
  const auto [code, message] = error_of([&] {
    write_png_grid(path, tensor({1, 1}, {0}), {.height = 1, .width = 1});
  });
  CHECK(code == ExitCode::runtime);
  CHECK(message.find("missing/grid.png") != std::string::npos);
  CHECK(!std::filesystem::exists(dir / "missing"));
}

TEST_CASE("image_layout accepts an image count that is not known yet") {
  const Shape shape = {symbolic_dim(0), 64};
  const ImageLayout l = image_layout(DType::f32, shape, {.height = 8, .width = 8}, "output 'x'");
  CHECK(l.count < 0);
  CHECK(l.height == 8);
  CHECK(l.width == 8);
  const Shape unknown_pixels = {4, symbolic_dim(0)};
  CHECK(error_of([&] {
          image_layout(DType::f32, unknown_pixels, {.height = 8, .width = 8}, "output 'x'");
        }).second.find("does not split") != std::string::npos);
}

TEST_CASE("training samples go to DIR/samples/epoch-NNN.png") {
  TempDir dir;
  CHECK(epoch_samples_path(dir.path(), 7) == dir.path() / "samples" / "epoch-007.png");
  CHECK(epoch_samples_path(dir.path(), 1234) == dir.path() / "samples" / "epoch-1234.png");
  const auto written = write_epoch_samples(dir.path(), 3, tensor({1, 2, 2}, {0, 1, 1, 0}), {});
  CHECK(written == dir.path() / "samples" / "epoch-003.png");
  CHECK(slurp(written).substr(1, 3) == "PNG");
  // Bad input leaves no samples/ folder behind.
  TempDir other;
  error_of([&] { write_epoch_samples(other.path(), 1, Tensor(), {}); });
  CHECK(!std::filesystem::exists(other.path() / "samples"));
}
