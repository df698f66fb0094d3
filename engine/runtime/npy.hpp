// NumPy .npy files (format versions 1.0, 2.0 and 3.0; little-endian,
// C order; f32, f64, i32, i64, u8, bool). Reading checks the header against
// the file size before allocating anything, so a hostile header cannot make
// the engine allocate what it claims.
#pragma once

#include <filesystem>

#include "runtime/tensor.hpp"

namespace keel {

// Throws keel::Error (exit code 2, naming the file) for every malformed or
// unsupported file: bad magic, truncated, Fortran order, big-endian or
// unsupported dtype, a shape whose byte count does not match the file.
Tensor read_npy(const std::filesystem::path& path);

// Writes format 1.0 (2.0 when the header needs it) atomically.
void write_npy(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace keel
