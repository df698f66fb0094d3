// PNG encoding and the atomic write of an image grid (images/png_grid.hpp).
// libpng's simplified API keeps its setjmp/longjmp inside libpng: a failure
// comes back as a flag and a message in png_image, so no C++ frame is jumped
// over and nothing this file owns can leak.
#include <png.h>

#include <cstdio>

#include "base/error.hpp"
#include "images/png_grid.hpp"
#include "runtime/atomic_file.hpp"

namespace keel {

namespace fs = std::filesystem;

std::string encode_png(const GrayImage& image) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = PNG_FORMAT_GRAY;
  const auto fail = [&](const char* stage) {
    const std::string why = png.message[0] ? png.message : "unknown error";
    png_image_free(&png);
    throw runtime_error(std::string("cannot encode the PNG image (") + stage + "): " + why);
  };
  // The bound libpng guarantees for any compression result, so one pass
  // encodes (the size is known only after compressing).
  png_alloc_size_t size = PNG_IMAGE_PNG_SIZE_MAX(png);
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&png, bytes.data(), &size, 0, image.pixels.data(),
                                 static_cast<png_int_32>(image.width), nullptr))
    fail("libpng");
  if (png.warning_or_error & PNG_IMAGE_ERROR) fail("libpng");
  png_image_free(&png);
  bytes.resize(size);
  return bytes;
}

void write_png_grid(const fs::path& path, const Tensor& images, const ImageGrid& spec,
                    const std::string& what) {
  const std::string bytes = encode_png(grid_image(images, spec, what));
  write_file_atomically(path,
                        [&](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); });
}

fs::path epoch_samples_path(const fs::path& output_dir, std::int64_t epoch) {
  char name[32];
  std::snprintf(name, sizeof name, "epoch-%03lld.png", static_cast<long long>(epoch));
  return output_dir / "samples" / name;
}

fs::path write_epoch_samples(const fs::path& output_dir, std::int64_t epoch, const Tensor& images,
                             const ImageGrid& spec, const std::string& what) {
  const fs::path path = epoch_samples_path(output_dir, epoch);
  // The picture is drawn first: bad input leaves no empty samples/ folder.
  const std::string bytes = encode_png(grid_image(images, spec, what));
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    throw runtime_error("cannot create the folder '" + printable(path.parent_path().string(), 200) +
                        "': " + ec.message());
  write_file_atomically(path,
                        [&](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); });
  return path;
}

}  // namespace keel
