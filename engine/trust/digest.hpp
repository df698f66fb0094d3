// BLAKE2b-512 of a whole file, read as a stream from a descriptor: what an
// "ED" signature signs. Hashing the descriptor rather than a path is what
// lets a loader verify the very bytes it then loads (open once, hash, use).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace keel::trust {

using Digest = std::array<std::uint8_t, 64>;

// BLAKE2b-512 of everything in `fd` from offset 0 to its end, read with
// pread so the descriptor's offset is left as it was. keel::Error (usage)
// naming `name` when it cannot be read.
Digest hash_fd(int fd, const std::string& name);

Digest hash_bytes(const std::uint8_t* data, std::size_t size);

}  // namespace keel::trust
