// The operators of the batchnorm plugin, one schema and one factory each, so
// that the plugin entry point and the tests register and build them alike.
#pragma once

#include <memory>

#include "keel/keel.hpp"

namespace keel::norm {

OpSchema batchnorm_schema();
std::unique_ptr<Op> make_batchnorm(const Attrs& attrs);

OpSchema layernorm_schema();
std::unique_ptr<Op> make_layernorm(const Attrs& attrs);

}  // namespace keel::norm
