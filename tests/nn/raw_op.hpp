// Drives an op on raw, typed buffers and hands back its Status, for the
// failure cases optest::Harness (which requires every call to succeed)
// cannot reach: bad labels, unusable parameters.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "keel/keel.hpp"
#include "op_harness.hpp"

namespace optest {

class RawOp : public PreparedOp {
 public:
  RawOp(const keel::OpMaker& factory, const keel::Attrs& attrs, std::vector<keel::TensorSpec> inputs)
      : PreparedOp(factory, attrs, std::move(inputs), /*training=*/true) {
    for (const keel::TensorSpec& s : inst_.outputs) output_values_.emplace_back(count(s.shape), 0.0f);
  }

  // One pointer per input, to data of the input's declared dtype.
  keel::Status forward(const std::vector<const void*>& data) {
    const auto ins = input_views(data);
    std::vector<keel::TensorView> outs;
    for (std::size_t i = 0; i < inst_.outputs.size(); ++i)
      outs.push_back({keel::DType::f32, inst_.outputs[i].shape, output_values_[i].data()});
    const auto par = param_views();
    return inst_.op->forward(keel::ForwardContext{ins, outs, par, true, 0, 0});
  }

  // Backward with an upstream gradient of ones and only the first input's
  // gradient asked for.
  keel::Status backward(const std::vector<const void*>& data) {
    const auto ins = input_views(data);
    std::vector<keel::ConstTensorView> outs, gouts;
    std::vector<Floats> ones;
    for (std::size_t i = 0; i < inst_.outputs.size(); ++i) {
      ones.emplace_back(count(inst_.outputs[i].shape), 1.0f);
      outs.push_back({keel::DType::f32, inst_.outputs[i].shape, output_values_[i].data()});
      gouts.push_back({keel::DType::f32, inst_.outputs[i].shape, ones.back().data()});
    }
    Floats grad(count(inst_.inputs[0].shape));
    std::vector<keel::TensorView> gins{{keel::DType::f32, inst_.inputs[0].shape, grad.data()}};
    for (std::size_t i = 1; i < inst_.inputs.size(); ++i)
      gins.push_back({inst_.inputs[i].dtype, inst_.inputs[i].shape, nullptr});
    std::vector<keel::ConstTensorView> par;
    for (const auto& v : param_views()) par.push_back({v.dtype, v.shape, v.data});
    std::vector<Floats> pgrad_values;
    std::vector<keel::TensorView> pgrads;
    for (const auto& p : params_) pgrad_values.emplace_back(count(p.shape));
    for (std::size_t i = 0; i < params_.size(); ++i)
      pgrads.push_back({keel::DType::f32, params_[i].shape, pgrad_values[i].data()});
    return inst_.op->backward(keel::BackwardContext{ins, outs, par, gouts, gins, pgrads, 0, 0});
  }

 private:
  std::vector<keel::ConstTensorView> input_views(const std::vector<const void*>& data) const {
    REQUIRE(data.size() == inst_.inputs.size());
    std::vector<keel::ConstTensorView> v;
    for (std::size_t i = 0; i < inst_.inputs.size(); ++i)
      v.push_back({inst_.inputs[i].dtype, inst_.inputs[i].shape, data[i]});
    return v;
  }

  std::vector<Floats> output_values_;
};

// The Status of infer() alone, with its outputs and parameter shapes.
struct Inference {
  keel::Status status;
  std::vector<keel::TensorSpec> outputs;
  std::vector<Shape> param_shapes;
};

inline Inference infer_only(const keel::OpMaker& factory, const keel::Attrs& attrs,
                            std::vector<keel::TensorSpec> inputs) {
  keel::testing::Instance inst;
  keel::Status st = inst.create(factory, attrs, std::move(inputs));
  std::vector<Shape> param_shapes;
  for (const keel::TensorSpec& p : inst.param_specs()) param_shapes.push_back(p.shape);
  return {st, inst.outputs, param_shapes};
}

}  // namespace optest
