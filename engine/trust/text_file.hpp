// The small line-based files of this module (keys, signatures): reading them
// with a size bound, from a regular file only, and splitting them into lines
// the way minisign does (a line ends at "\n"; one "\r" before it is dropped).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace keel::trust {

// The bytes of a small regular file. keel::Error (usage) naming the file
// when it is missing, not a regular file or larger than `max_bytes`. A
// `secret` file (a secret key) is also refused when group or others may
// access it, as ssh refuses such private keys.
std::string read_small_file(const std::filesystem::path& path, std::size_t max_bytes, const std::string& kind,
                            bool secret = false);

// The lines of `text`; a final newline ends the last line rather than
// starting an empty one.
std::vector<std::string_view> split_lines(std::string_view text);

// `line` without `prefix`; keel::Error (usage) naming `source` and saying
// which line of the `kind` was expected when it does not start with it.
std::string_view after_prefix(std::string_view line, std::string_view prefix, const std::string& source,
                              const std::string& what);

// Overwrites `n` bytes at `p` in a way the compiler keeps (secret material).
void wipe(void* p, std::size_t n);

}  // namespace keel::trust
