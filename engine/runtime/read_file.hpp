// Reading a whole input file (CSV data, a safetensors checkpoint) into
// memory with its size checked before anything is allocated.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>

namespace keel {

// The file's bytes. keel::Error (usage, naming the file) when it cannot be
// read, when it holds more than `max_bytes` (the message says the limit is
// the one for `kind`, e.g. "CSV data"), or when it changes while being read.
// The installed input check (base/input_check.hpp) sees the bytes read
// before they are returned.
std::string read_input_file(const std::filesystem::path& path,
                            std::uintmax_t max_bytes = std::numeric_limits<std::uintmax_t>::max(),
                            const std::string& kind = "");

}  // namespace keel
