// The nn plugin's spatial ops (NCHW images): schemas and factories, shared by
// spatial_ops.cpp (registration) and the tests.
#pragma once

#include <memory>

#include "keel/keel.hpp"

namespace keel::nn {

OpSchema conv2d_schema();
std::unique_ptr<Op> make_conv2d(const Attrs& attrs);

OpSchema global_avg_pool_schema();
std::unique_ptr<Op> make_global_avg_pool(const Attrs& attrs);

}  // namespace keel::nn
