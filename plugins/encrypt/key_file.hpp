// Key files: one line holding url-safe base64 of 32 random bytes, the same
// text Fernet keys use (`Fernet.generate_key()` output is a valid key file),
// so one key file serves both the container and Fernet. Like ssh with its
// private keys, a key file that group or others may read or write is
// refused.
#pragma once

#include <string>

#include "primitives.hpp"

namespace keel::encrypt {

// Throws std::runtime_error naming the path on any problem, including a
// mode that lets group or others read or write it (the message says to run
// `chmod 600 FILE`).
CryptoPP::SecByteBlock load_key_file(const std::string& path);

// The text of a new key file: base64url of 32 fresh random bytes and a
// newline, in wiped memory.
CryptoPP::SecByteBlock new_key_file_text();

// The passphrase held by environment variable `name`, copied into wiped
// memory. Throws std::runtime_error when it is unset or empty.
CryptoPP::SecByteBlock load_passphrase_env(const std::string& name);

}  // namespace keel::encrypt
