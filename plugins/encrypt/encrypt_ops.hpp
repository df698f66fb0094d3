// Graph ops over the container: `encrypt` turns a tensor's bytes into a
// container, `decrypt` turns a container back into bytes. Both are static in
// shape: a container's length determines its plaintext length once the chunk
// size is known, so `decrypt` takes the chunk size the file was written with.
#pragma once

#include <cstdint>
#include <optional>

#include "keel/keel.hpp"

namespace keel::encrypt {

OpSchema encrypt_schema();
OpSchema decrypt_schema();
std::unique_ptr<Op> make_encrypt(const Attrs& attrs);
std::unique_ptr<Op> make_decrypt(const Attrs& attrs);

// Container length for a plaintext of n bytes, and its inverse (nullopt when
// no plaintext length gives exactly that container length).
std::uint64_t container_size(std::uint64_t plaintext_size, std::uint32_t chunk_size);
std::optional<std::uint64_t> plaintext_size(std::uint64_t container_size, std::uint32_t chunk_size);

}  // namespace keel::encrypt
