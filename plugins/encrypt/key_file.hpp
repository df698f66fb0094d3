// Key files: one line holding url-safe base64 of 32 random bytes, the same
// text Fernet keys use (`Fernet.generate_key()` output is a valid key file),
// so one key file serves both the container and Fernet.
#pragma once

#include <string>

#include "primitives.hpp"

namespace keel::encrypt {

// Throws std::runtime_error naming the path on any problem.
CryptoPP::SecByteBlock load_key_file(const std::string& path);

}  // namespace keel::encrypt
