// NumPy .npy files (format versions 1.0, 2.0 and 3.0; little-endian,
// C order; f32, f64, i32, i64, u8, bool). Reading checks the header against
// the file size before allocating anything, so a hostile header cannot make
// the engine allocate what it claims.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "runtime/tensor.hpp"

namespace keel {

// Throws keel::Error (exit code 2, the file in its SourceLoc, so format()
// reads "FILE: what is wrong") for every malformed or unsupported file: bad
// magic, unknown version, truncated header, a header that is not the dict
// NumPy writes, Fortran order, big-endian or unsupported dtype, a negative or
// overflowing shape, data shorter or longer than the shape needs, a header
// over 1 MiB. Bool data must be bytes 0 or 1: NumPy never writes others, and
// kernels may rely on it, so any other byte is reported as corruption.
Tensor read_npy(const std::filesystem::path& path);

// The same for a .npy file already in memory (a request body); `source`
// names it in messages.
Tensor decode_npy(std::string_view bytes, const std::string& source);

// Writes what np.save writes, byte for byte: format 1.0 (2.0 when the header
// exceeds 65535 bytes), the preamble padded to 64 bytes. Bools are stored as
// 0 or 1 whatever nonzero byte the tensor holds. Atomic (write_file_atomically):
// a failure leaves neither a partial file nor a temporary, and an existing
// file is either replaced whole or left as it was. Throws keel::Error (exit
// code 1) on I/O failure.
void write_npy(const std::filesystem::path& path, const Tensor& tensor);

// The bytes write_npy writes, in memory (a response body).
std::string encode_npy(const Tensor& tensor);

}  // namespace keel
