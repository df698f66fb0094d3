#include "base/log_prefix.hpp"

namespace keel {

namespace {
std::string& prefix() {
  static std::string p = "keel";
  return p;
}
}  // namespace

const std::string& log_prefix() { return prefix(); }

void set_log_prefix(std::string p) { prefix() = std::move(p); }

}  // namespace keel
