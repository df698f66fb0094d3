// Drives one optimizer op the way the training engine does: infer and
// prepare once, then one forward per update with the parameter's own
// buffer as both input 0 and output 0 (in place) and ForwardContext::step
// counting the updates already applied. Out-of-place calls are there to
// compare against. It is an optest::PreparedOp (tests/common/op_harness.hpp)
// whose forward passes the caller's buffers, so that they can alias.
#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "keel/keel.hpp"
#include "op_harness.hpp"

namespace opttest {

using optest::Doubles;
using optest::Floats;

// Complete attributes for `schema`: its defaults, then the overrides.
inline keel::Attrs attrs_for(const keel::OpSchema& schema,
                             const std::map<std::string, keel::AttrValue>& overrides) {
  std::map<std::string, keel::AttrValue> values;
  for (const keel::AttrSpec& a : schema.attrs) {
    REQUIRE(a.default_value.has_value());
    values[a.name] = *a.default_value;
  }
  for (const auto& [name, value] : overrides) {
    INFO("attribute " << name);
    REQUIRE(values.count(name) == 1);
    values[name] = value;
  }
  return keel::Attrs(values);
}

class UpdateDriver : public optest::PreparedOp {
 public:
  UpdateDriver(const keel::OpMaker& factory, const keel::Attrs& attrs, keel::Shape shape)
      : PreparedOp(factory, attrs, optest::f32_specs({shape, shape, {2}}), /*training=*/true),
        shape_(std::move(shape)) {
    REQUIRE(inst_.outputs.size() == 1);
    REQUIRE(inst_.outputs[0] == inst_.inputs[0]);
    for (const keel::TensorSpec& p : params_) REQUIRE(p.shape == shape_);
  }

  // One update; `out` null means in place (the engine's call).
  keel::Status try_update(Floats& param, const Floats& grad, float lr, float scale, std::uint64_t step,
                          float* out = nullptr) {
    const float hyper[2] = {lr, scale};
    const keel::ConstTensorView ins[3] = {{keel::DType::f32, shape_, param.data()},
                                          {keel::DType::f32, shape_, grad.data()},
                                          {keel::DType::f32, hyper_shape_, hyper}};
    const keel::TensorView outs[1] = {{keel::DType::f32, shape_, out != nullptr ? out : param.data()}};
    const std::vector<keel::TensorView> pars = param_views();
    const keel::ForwardContext ctx{ins, outs, pars, true, 0, step};
    return inst_.op->forward(ctx);
  }

  void update(Floats& param, const Floats& grad, float lr, float scale, std::uint64_t step) {
    const keel::Status st = try_update(param, grad, lr, scale, step);
    INFO(st.message());
    REQUIRE(st.ok());
  }

  // Out of place: param is left alone, the result is returned.
  Floats update_copy(const Floats& param, const Floats& grad, float lr, float scale, std::uint64_t step) {
    Floats in = param, out(param.size(), -7.0f);
    const keel::Status st = try_update(in, grad, lr, scale, step, out.data());
    INFO(st.message());
    REQUIRE(st.ok());
    REQUIRE(in == param);
    return out;
  }

  // The op's state tensors (its parameters), zero until updated.
  std::vector<Floats>& state() { return params(); }

 private:
  keel::Shape shape_;
  keel::Shape hyper_shape_{2};
};

using optest::check_close;

}  // namespace opttest
