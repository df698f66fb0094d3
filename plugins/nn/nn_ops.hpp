// The operators of the nn plugin, one schema and one factory each, so that
// the plugin entry point and the tests register and build them alike.
#pragma once

#include <memory>

#include "keel/keel.hpp"

namespace keel::nn {

OpSchema add_schema();
std::unique_ptr<Op> make_add(const Attrs& attrs);
OpSchema mul_schema();
std::unique_ptr<Op> make_mul(const Attrs& attrs);

OpSchema scale_schema();
std::unique_ptr<Op> make_scale(const Attrs& attrs);
OpSchema relu_schema();
std::unique_ptr<Op> make_relu(const Attrs& attrs);

OpSchema matmul_schema();
std::unique_ptr<Op> make_matmul(const Attrs& attrs);

}  // namespace keel::nn
