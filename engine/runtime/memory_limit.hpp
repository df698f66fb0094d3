// The largest single tensor the engine agrees to allocate. A graph whose
// attributes or input shapes would make a bigger one is refused before
// anything is allocated, with a usage error, instead of running the machine
// out of memory (where Linux kills the process with no message).
#pragma once

#include <cstdint>
#include <string>

namespace keel {

// KEEL_MAX_TENSOR_BYTES when set (a byte count, optionally with a K, M, G or
// T suffix, powers of 1024), else this machine's physical memory, never
// more than 1 TiB. Read once per process.
std::uint64_t max_tensor_bytes();

// Parses a size as KEEL_MAX_TENSOR_BYTES takes it; 0 when malformed.
std::uint64_t parse_byte_size(const std::string& text);

// "10.0 GiB", "512 bytes": sizes in messages.
std::string format_bytes(std::uint64_t bytes);

}  // namespace keel
