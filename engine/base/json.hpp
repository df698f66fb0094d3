// Just enough JSON output for `keel plugins --json` and JSON-lines reports;
// keel never parses JSON it did not write.
#pragma once

#include <string>
#include <string_view>

namespace keel {

// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

// A finite double printed so it reads back to the same value; NaN and
// infinities (not representable in JSON) become null.
std::string json_number(double v);

}  // namespace keel
