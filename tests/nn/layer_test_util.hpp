// Helpers shared by the layer-family op tests: building attributes and
// running infer() alone, as `keel validate` does, with symbolic sizes.
#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "keel/keel.hpp"
#include "op_harness.hpp"
#include "raw_op.hpp"

namespace layertest {

using keel::AttrValue;
using keel::Shape;

inline keel::Attrs attrs(std::map<std::string, AttrValue> values) { return keel::Attrs(std::move(values)); }
inline AttrValue int_attr(std::int64_t v) { return AttrValue{v}; }
inline AttrValue ints_attr(std::vector<std::int64_t> v) { return AttrValue{std::move(v)}; }

const keel::Dim batch = keel::symbolic_dim(0);
const keel::Dim seq = keel::symbolic_dim(1);

// infer() alone, on the kit's Instance (raw_op.hpp).
using Inferred = optest::Inference;

inline Inferred infer(const keel::OpMaker& factory, const keel::Attrs& a,
                      std::vector<keel::TensorSpec> inputs) {
  return optest::infer_only(factory, a, std::move(inputs));
}

inline Shape inferred_shape(const keel::OpMaker& factory, const keel::Attrs& a, const Shape& x) {
  const Inferred r = infer(factory, a, optest::f32_specs({x}));
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  REQUIRE(r.outputs.size() == 1);
  CHECK(r.outputs[0].dtype == keel::DType::f32);
  return r.outputs[0].shape;
}

inline std::string infer_error(const keel::OpMaker& factory, const keel::Attrs& a,
                               std::vector<keel::TensorSpec> in) {
  const Inferred r = infer(factory, a, std::move(in));
  REQUIRE_FALSE(r.status.ok());
  return r.status.message();
}

inline std::string infer_error(const keel::OpMaker& factory, const keel::Attrs& a, const Shape& x) {
  return infer_error(factory, a, optest::f32_specs({x}));
}

}  // namespace layertest
