// Drives one optimizer op the way the training engine does: infer and
// prepare once, then one forward per update with the parameter's own
// buffer as both input 0 and output 0 (in place) and ForwardContext::step
// counting the updates already applied. Out-of-place calls are there to
// compare against. (tests/common/op_harness.hpp assumes separate output
// buffers, so it cannot express the aliasing.)
#pragma once

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "keel/keel.hpp"

namespace opttest {

using Floats = std::vector<float>;
using Doubles = std::vector<double>;

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

class UpdateDriver {
 public:
  UpdateDriver(const keel::OpMaker& factory, const keel::Attrs& attrs, keel::Shape shape)
      : op_(factory(attrs)), shape_(std::move(shape)) {
    inputs_ = {{keel::DType::f32, shape_}, {keel::DType::f32, shape_}, {keel::DType::f32, {2}}};
    keel::InferContext ic{inputs_, {}, {}};
    const keel::Status inferred = op_->infer(ic);
    INFO(inferred.message());
    REQUIRE(inferred.ok());
    REQUIRE(ic.outputs.size() == 1);
    REQUIRE(ic.outputs[0] == inputs_[0]);
    for (const keel::Shape& s : ic.param_shapes) {
      REQUIRE(s == shape_);
      params_.push_back({keel::DType::f32, s});
      state.emplace_back(static_cast<std::size_t>(keel::numel(s)), 0.0f);
    }
    keel::PrepareContext pc{inputs_, ic.outputs, params_, true};
    const keel::Status prepared = op_->prepare(pc);
    INFO(prepared.message());
    REQUIRE(prepared.ok());
  }

  // One update; `out` null means in place (the engine's call).
  keel::Status try_update(Floats& param, const Floats& grad, float lr, float scale, std::uint64_t step,
                          float* out = nullptr) {
    const float hyper[2] = {lr, scale};
    const keel::ConstTensorView ins[3] = {{keel::DType::f32, shape_, param.data()},
                                          {keel::DType::f32, shape_, grad.data()},
                                          {keel::DType::f32, hyper_shape_, hyper}};
    const keel::TensorView outs[1] = {{keel::DType::f32, shape_, out != nullptr ? out : param.data()}};
    std::vector<keel::TensorView> pars;
    for (std::size_t i = 0; i < state.size(); ++i)
      pars.push_back({keel::DType::f32, shape_, state[i].data()});
    const keel::ForwardContext ctx{ins, outs, pars, true, 0, step};
    return op_->forward(ctx);
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

  std::vector<Floats> state;  // the op's state tensors, zero until updated

 private:
  std::unique_ptr<keel::Op> op_;
  keel::Shape shape_;
  keel::Shape hyper_shape_{2};
  std::vector<keel::TensorSpec> inputs_;
  std::vector<keel::TensorSpec> params_;
};

// |got - want| <= abs_tol + rel_tol * |want|, naming the first element off.
inline void check_close(const Floats& got, const Doubles& want, double rel_tol, double abs_tol,
                        const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(double(got[i]) - want[i]);
    if (!(err <= abs_tol + rel_tol * std::abs(want[i])))
      FAIL(what << ": element " << i << " is " << got[i] << ", expected " << want[i] << " (off by " << err
                << ")");
  }
  SUCCEED(what);
}

}  // namespace opttest
