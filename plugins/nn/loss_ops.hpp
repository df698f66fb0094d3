// The loss family of the nn plugin: objectives (mse, softmax_cross_entropy)
// and the training-time data ops that sit next to them (dropout,
// standardize). Declared here so that registration and the op tests build
// them alike.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "keel/keel.hpp"

namespace keel::nn {

OpSchema mse_schema();
std::unique_ptr<Op> make_mse(const Attrs& attrs);

OpSchema softmax_cross_entropy_schema();
std::unique_ptr<Op> make_softmax_cross_entropy(const Attrs& attrs);

OpSchema dropout_schema();
std::unique_ptr<Op> make_dropout(const Attrs& attrs);

OpSchema standardize_schema();
std::unique_ptr<Op> make_standardize(const Attrs& attrs);

namespace loss_detail {

// How a loss folds per-element (or per-row) terms into its scalar.
enum class Reduction : std::uint8_t { mean, sum };

// The engine fills in defaults before calling a factory; tests may not, so
// factories read optional attributes through these.
inline Reduction reduction_of(const Attrs& attrs) {
  return attrs.has("reduction") && attrs.s("reduction") == "sum" ? Reduction::sum : Reduction::mean;
}

inline double float_or(const Attrs& attrs, const std::string& name, double fallback) {
  return attrs.has(name) ? attrs.f(name) : fallback;
}

inline AttrSpec reduction_attr() {
  return AttrSpec{.name = "reduction",
                  .type = AttrType::String,
                  .doc = "how the terms become one number: mean (divided by their count) or sum",
                  .default_value = AttrValue{std::string("mean")},
                  .choices = {"mean", "sum"}};
}

}  // namespace loss_detail

}  // namespace keel::nn
