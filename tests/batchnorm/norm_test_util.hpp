// Helpers shared by the batchnorm plugin's tests: attribute maps, per-channel
// random data, and a direct driver for the calls the op harness treats as
// always succeeding (errors, forward modes that differ from prepare's, and
// a new shape binding).
#pragma once

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "op_harness.hpp"

namespace normtest {

using optest::Floats;
using optest::Shape;

inline keel::Attrs attrs(std::map<std::string, keel::AttrValue> values = {}) {
  return keel::Attrs(std::move(values));
}

// Values with a different offset and spread per channel (axis 1), so that
// batch statistics are far from 0 and 1 and differ between channels.
inline Floats channel_data(std::mt19937& rng, const Shape& shape) {
  const std::size_t c = std::size_t(shape[1]);
  std::size_t inner = 1;
  for (std::size_t a = 2; a < shape.size(); ++a) inner *= std::size_t(shape[a]);
  const Floats offsets = optest::random_floats(rng, c, -2.0f, 2.0f);
  const Floats spreads = optest::random_floats(rng, c, 0.5f, 2.0f);
  Floats x = optest::random_floats(rng, optest::count(shape));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t ch = (i / inner) % c;
    x[i] = x[i] * spreads[ch] + offsets[ch];
  }
  return x;
}

// Drives one op by hand and returns every Status of forward and backward
// instead of requiring it; making, inferring and preparing must succeed.
class Direct {
 public:
  Direct(const keel::OpMaker& factory, const keel::Attrs& a, const Shape& x, bool prepare_training)
      : factory_(factory), attrs_(a) {
    rebind(x, prepare_training);
  }

  // Binds a new input shape as the engine does when a named dimension binds
  // to a new size: a fresh op object, inferred and prepared for it (an op
  // prepares once, keel/op.hpp); parameter values are kept.
  void rebind(const Shape& x, bool prepare_training) {
    bound_ = std::make_unique<optest::PreparedOp>(factory_, attrs_, optest::f32_specs({x}), prepare_training);
    const std::vector<keel::TensorSpec> specs = inst().param_specs();
    for (std::size_t i = params.size(); i < specs.size(); ++i)
      params.emplace_back(optest::count(specs[i].shape), 1.0f);
  }

  keel::Status forward(const Floats& x, Floats& y, bool training) {
    y.assign(x.size(), 0.0f);
    const keel::ConstTensorView xin{keel::DType::f32, inst().inputs[0].shape, x.data()};
    const keel::TensorView yout{keel::DType::f32, inst().outputs[0].shape, y.data()};
    const std::vector<keel::TensorSpec> specs = inst().param_specs();
    std::vector<keel::TensorView> p;
    for (std::size_t i = 0; i < specs.size(); ++i)
      p.push_back({keel::DType::f32, specs[i].shape, params[i].data()});
    return inst().op->forward({{&xin, 1}, {&yout, 1}, p, training, 0, 0});
  }

  keel::Status backward(const Floats& x, const Floats& y, const Floats& gy, Floats& gx) {
    gx.assign(x.size(), std::nanf(""));
    const keel::ConstTensorView xin{keel::DType::f32, inst().inputs[0].shape, x.data()};
    const keel::ConstTensorView yv{keel::DType::f32, inst().outputs[0].shape, y.data()};
    const keel::ConstTensorView gyv{keel::DType::f32, inst().outputs[0].shape, gy.data()};
    const keel::TensorView gxv{keel::DType::f32, inst().inputs[0].shape, gx.data()};
    const std::vector<keel::TensorSpec> specs = inst().param_specs();
    std::vector<keel::ConstTensorView> p;
    std::vector<keel::TensorView> gp;
    grads.clear();
    for (std::size_t i = 0; i < specs.size(); ++i) grads.emplace_back(params[i].size(), std::nanf(""));
    for (std::size_t i = 0; i < specs.size(); ++i) {
      p.push_back({keel::DType::f32, specs[i].shape, params[i].data()});
      gp.push_back({keel::DType::f32, specs[i].shape, grads[i].data()});
    }
    return inst().op->backward({{&xin, 1}, {&yv, 1}, p, {&gyv, 1}, {&gxv, 1}, gp, 0, 0});
  }

  std::vector<Floats> params;  // all ones until the test sets them
  std::vector<Floats> grads;   // parameter gradients of the last backward

 private:
  keel::testing::Instance& inst() { return bound_->instance(); }

  keel::OpMaker factory_;
  keel::Attrs attrs_;
  std::unique_ptr<optest::PreparedOp> bound_;  // the op of the current binding
};

// infer()'s verdict on the given inputs.
inline keel::Status infer_status(const keel::OpMaker& factory, const keel::Attrs& a,
                                 std::vector<keel::TensorSpec> inputs) {
  keel::testing::Instance inst;
  return inst.create(factory, a, std::move(inputs));
}

}  // namespace normtest
