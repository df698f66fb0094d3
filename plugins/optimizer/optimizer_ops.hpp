// The operators of the optimizer plugin, one schema and one factory each,
// so that the plugin entry point and the tests register and build them
// alike. Their contract with the training engine: optimizer_contract.hpp.
#pragma once

#include <memory>

#include "keel/keel.hpp"

namespace keel::optimizer {

OpSchema sgd_schema();
std::unique_ptr<Op> make_sgd(const Attrs& attrs);

OpSchema adam_schema();
std::unique_ptr<Op> make_adam(const Attrs& attrs);

OpSchema adamw_schema();
std::unique_ptr<Op> make_adamw(const Attrs& attrs);

}  // namespace keel::optimizer
