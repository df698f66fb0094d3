#include "base/input_check.hpp"

#include <utility>

namespace keel {

namespace {
std::shared_ptr<const InputCheck>& installed() {
  static std::shared_ptr<const InputCheck> check;
  return check;
}
}  // namespace

void set_input_check(std::shared_ptr<const InputCheck> check) { installed() = std::move(check); }

const InputCheck* input_check() { return installed().get(); }

}  // namespace keel
