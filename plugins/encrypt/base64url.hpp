// URL-safe base64 (RFC 4648 section 5) with '=' padding, as Fernet keys and
// tokens use it. Decoding is strict: padding is required, and any character
// outside the alphabet is an error rather than skipped.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "primitives.hpp"

namespace keel::encrypt {

std::string base64url_encode(ByteSpan data);
std::optional<Bytes> base64url_decode(std::string_view text);

}  // namespace keel::encrypt
