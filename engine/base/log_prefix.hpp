// What starts every line Keel writes to stderr: "keel", or under a
// data-parallel launch "keel[rank N]", so that the interleaved lines of
// several processes say whose they are.
#pragma once

#include <string>

namespace keel {

const std::string& log_prefix();
void set_log_prefix(std::string prefix);

}  // namespace keel
