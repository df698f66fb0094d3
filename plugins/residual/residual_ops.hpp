// The operators of the residual plugin, one schema and one factory each, so
// that the plugin entry point and the tests register and build them alike.
#pragma once

#include <memory>

#include "keel/keel.hpp"

namespace keel::residual {

OpSchema residual_schema();
std::unique_ptr<Op> make_residual(const Attrs& attrs);

OpSchema residual_block_schema();
std::unique_ptr<Op> make_residual_block(const Attrs& attrs);

}  // namespace keel::residual
