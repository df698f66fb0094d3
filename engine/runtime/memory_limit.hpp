// The largest single tensor the engine agrees to allocate. A graph whose
// attributes or input shapes would make a bigger one is refused before
// anything is allocated, with a usage error, instead of running the machine
// out of memory (where Linux kills the process with no message).
#pragma once

#include <cstdint>
#include <string>

namespace keel {

// This machine's physical memory, never more than 1 TiB, or less when
// KEEL_MAX_TENSOR_BYTES says so (a byte count, optionally with a K, M, G or
// T suffix, powers of 1024, an optional B after it). A larger value is
// clamped to the machine's limit with a warning on stderr; a malformed one
// ("abc", "-1", "1.5G", "0", or one that overflows 64 bits; an empty value
// counts as unset) throws
// keel::Error (usage) naming the variable and the value. Read once per
// process.
std::uint64_t max_tensor_bytes();

// Parses a size as KEEL_MAX_TENSOR_BYTES takes it; 0 when malformed (or 0).
std::uint64_t parse_byte_size(const std::string& text);

// "10.0 GiB", "512 bytes": sizes in messages.
std::string format_bytes(std::uint64_t bytes);

}  // namespace keel
