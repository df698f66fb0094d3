// Standard base64 (RFC 4648, `+/`, `=` padding), as minisign writes key and
// signature lines. Decoding is strict: any character outside the alphabet,
// wrong padding or non-zero unused bits is refused, so each encoded line has
// exactly one decoding and no changed character can go unnoticed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::trust {

std::string base64_encode(const std::uint8_t* data, std::size_t size);

// The bytes, or nothing when `text` is not canonical base64.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace keel::trust
