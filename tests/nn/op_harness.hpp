// Drives one op through the engine's lifecycle (factory, infer, prepare,
// forward, backward) with buffers the test owns, plus the reference tools
// the op tests compare against: random data, broadcasting index arithmetic
// and central finite differences in double precision.
#pragma once

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "keel/keel.hpp"

namespace nn_test {

using keel::Shape;
using Floats = std::vector<float>;
using Doubles = std::vector<double>;

inline std::size_t count(const Shape& s) { return static_cast<std::size_t>(keel::numel(s)); }

inline Floats random_floats(std::mt19937& rng, std::size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Floats v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline Doubles to_double(const Floats& v) { return Doubles(v.begin(), v.end()); }

// Specs for f32 inputs of the given shapes.
inline std::vector<keel::TensorSpec> f32_specs(const std::vector<Shape>& shapes) {
  std::vector<keel::TensorSpec> specs;
  for (const Shape& s : shapes) specs.push_back({keel::DType::f32, s});
  return specs;
}

class Harness {
 public:
  Harness(keel::OpFactory factory, const keel::Attrs& attrs, std::vector<Shape> input_shapes,
          bool training = true)
      : op_(factory(attrs)), inputs_(f32_specs(input_shapes)) {
    keel::InferContext ic{inputs_, {}, {}};
    const keel::Status inferred = op_->infer(ic);
    INFO(inferred.message());
    REQUIRE(inferred.ok());
    outputs_ = ic.outputs;
    keel::PrepareContext pc{inputs_, outputs_, {}, training};
    const keel::Status prepared = op_->prepare(pc);
    INFO(prepared.message());
    REQUIRE(prepared.ok());
  }

  const Shape& output_shape(std::size_t i = 0) const { return outputs_.at(i).shape; }
  const Shape& input_shape(std::size_t i) const { return inputs_.at(i).shape; }

  std::vector<Floats> forward(const std::vector<Floats>& in) {
    std::vector<keel::ConstTensorView> ins = const_views(inputs_, in);
    std::vector<Floats> out;
    for (const keel::TensorSpec& s : outputs_) out.emplace_back(count(s.shape), std::nanf(""));
    std::vector<keel::TensorView> outs = views(outputs_, out);
    keel::ForwardContext ctx{ins, outs, {}, true, 0, 0};
    const keel::Status st = op_->forward(ctx);
    INFO(st.message());
    REQUIRE(st.ok());
    return out;
  }

  // `wanted[i]` false passes a null gradient view, as the engine does for
  // inputs nobody needs a gradient of; those come back empty.
  std::vector<Floats> backward(const std::vector<Floats>& in, const std::vector<Floats>& out,
                               const std::vector<Floats>& grad_out, std::vector<bool> wanted = {}) {
    if (wanted.empty()) wanted.assign(inputs_.size(), true);
    std::vector<keel::ConstTensorView> ins = const_views(inputs_, in);
    std::vector<keel::ConstTensorView> outs = const_views(outputs_, out);
    std::vector<keel::ConstTensorView> gouts = const_views(outputs_, grad_out);
    std::vector<Floats> grads;
    for (std::size_t i = 0; i < inputs_.size(); ++i)
      grads.emplace_back(wanted[i] ? count(inputs_[i].shape) : 0, std::nanf(""));
    std::vector<keel::TensorView> gins = views(inputs_, grads);
    for (std::size_t i = 0; i < inputs_.size(); ++i)
      if (!wanted[i]) gins[i].data = nullptr;
    keel::BackwardContext ctx{ins, outs, {}, gouts, gins, {}, 0, 0};
    const keel::Status st = op_->backward(ctx);
    INFO(st.message());
    REQUIRE(st.ok());
    return grads;
  }

 private:
  static std::vector<keel::ConstTensorView> const_views(const std::vector<keel::TensorSpec>& specs,
                                                        const std::vector<Floats>& data) {
    REQUIRE(specs.size() == data.size());
    std::vector<keel::ConstTensorView> v;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      REQUIRE(data[i].size() == count(specs[i].shape));
      v.push_back({keel::DType::f32, specs[i].shape, data[i].data()});
    }
    return v;
  }
  static std::vector<keel::TensorView> views(const std::vector<keel::TensorSpec>& specs,
                                             std::vector<Floats>& data) {
    std::vector<keel::TensorView> v;
    for (std::size_t i = 0; i < specs.size(); ++i)
      v.push_back({keel::DType::f32, specs[i].shape, data[i].data()});
    return v;
  }

  std::unique_ptr<keel::Op> op_;
  std::vector<keel::TensorSpec> inputs_;
  std::vector<keel::TensorSpec> outputs_;
};

// A reference op in double precision: inputs to the (single) output.
using Reference = std::function<Doubles(const std::vector<Doubles>&)>;

// d/dx_i of L(x) = sum(grad_y * f(x)), by central differences. For the
// piecewise-linear and bilinear ops tested here the difference quotient is
// exact up to double rounding, so any step well away from kinks works.
inline Doubles numeric_grad(const Reference& f, std::vector<Doubles> inputs, std::size_t which,
                            const Doubles& grad_y, double h = 1e-4) {
  auto loss = [&](const std::vector<Doubles>& in) {
    const Doubles y = f(in);
    double s = 0.0;
    for (std::size_t k = 0; k < y.size(); ++k) s += grad_y[k] * y[k];
    return s;
  };
  Doubles g(inputs[which].size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double x = inputs[which][i];
    inputs[which][i] = x + h;
    const double up = loss(inputs);
    inputs[which][i] = x - h;
    const double down = loss(inputs);
    inputs[which][i] = x;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

// |got - want| <= abs_tol + rel_tol * |want|, element by element, naming the
// first element that is off.
inline void check_close(const Floats& got, const Doubles& want, double rel_tol, double abs_tol,
                        const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(static_cast<double>(got[i]) - want[i]);
    if (!(err <= abs_tol + rel_tol * std::abs(want[i]))) {
      FAIL(what << ": element " << i << " is " << got[i] << ", expected " << want[i]);
    }
  }
  SUCCEED(what);
}

// Maps a C-order index into `out` to the index of an input of shape `in`
// broadcast to it (NumPy rules: align right, size-1 axes repeat).
inline std::size_t broadcast_source_index(std::size_t flat, const Shape& out, const Shape& in) {
  std::size_t src = 0;
  std::size_t in_stride = 1;
  const std::size_t offset = out.size() - in.size();
  for (std::size_t axis = out.size(); axis-- > 0;) {
    const auto extent = static_cast<std::size_t>(out[axis]);
    const std::size_t coord = flat % extent;
    flat /= extent;
    if (axis < offset) continue;
    const auto in_extent = static_cast<std::size_t>(in[axis - offset]);
    if (in_extent != 1) src += coord * in_stride;
    in_stride *= in_extent;
  }
  return src;
}

}  // namespace nn_test
