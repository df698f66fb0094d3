// The layer family of the nn plugin: linear, the smooth and leaky
// activations, softmax, and the copy-only shape ops flatten and reshape.
// One schema and one factory per op, so the plugin registration and the
// tests build them alike.
#pragma once

#include <memory>

#include "keel/keel.hpp"

namespace keel::nn {

OpSchema linear_schema();
std::unique_ptr<Op> make_linear(const Attrs& attrs);

OpSchema leaky_relu_schema();
std::unique_ptr<Op> make_leaky_relu(const Attrs& attrs);
OpSchema gelu_schema();
std::unique_ptr<Op> make_gelu(const Attrs& attrs);
OpSchema tanh_schema();
std::unique_ptr<Op> make_tanh(const Attrs& attrs);
OpSchema sigmoid_schema();
std::unique_ptr<Op> make_sigmoid(const Attrs& attrs);

OpSchema softmax_schema();
std::unique_ptr<Op> make_softmax(const Attrs& attrs);

OpSchema flatten_schema();
std::unique_ptr<Op> make_flatten(const Attrs& attrs);
OpSchema reshape_schema();
std::unique_ptr<Op> make_reshape(const Attrs& attrs);

}  // namespace keel::nn
