// Shared by the op tests of every plugin (tests/<plugin>/).
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
#include "keel/testing/instance.hpp"

namespace optest {

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

// Inputs with declared dtypes, for ops with integer ports (labels):
//   Harness h(factory, attrs, TypedInputs{{{DType::f32, {4, 3}}, {DType::i64, {4}}}});
// (With this overload present, a braced shape list followed by the training
// flag is ambiguous: spell it std::vector<Shape>{...}.)
struct TypedInputs {
  std::vector<keel::TensorSpec> specs;
};

// An op made, inferred and prepared as the engine does (both must succeed),
// on the conformance kit's Instance (keel/testing/instance.hpp), with
// parameter values at zero: what the drivers of the op tests share.
class PreparedOp {
 public:
  PreparedOp(const keel::OpMaker& factory, const keel::Attrs& attrs, std::vector<keel::TensorSpec> inputs,
             bool training) {
    require_ok(inst_.create(factory, attrs, std::move(inputs)));
    require_ok(inst_.prepare(training));
    params_ = inst_.param_specs();
    for (const keel::TensorSpec& p : params_) param_values_.emplace_back(count(p.shape), 0.0f);
  }

  // The op and the specs infer reported, for drivers that pass buffers of
  // their own (aliased ones, other dtypes).
  keel::testing::Instance& instance() { return inst_; }

  // Parameter values the op sees (zero until the test sets them); forward
  // may update them (running statistics).
  std::vector<Floats>& params() { return param_values_; }

 protected:
  std::vector<keel::TensorView> param_views() {
    std::vector<keel::TensorView> v;
    for (std::size_t i = 0; i < params_.size(); ++i)
      v.push_back({keel::DType::f32, params_[i].shape, param_values_[i].data()});
    return v;
  }

  static void require_ok(const keel::Status& st) {
    INFO(st.message());
    REQUIRE(st.ok());
  }

  keel::testing::Instance inst_;
  std::vector<keel::TensorSpec> params_;  // the instance's parameter specs
  std::vector<Floats> param_values_;
};

// Inputs are given and returned as floats whatever their declared dtype;
// integer ports (labels) are converted on the way in, exactly for the small
// integers tests use.
class Harness : public PreparedOp {
 public:
  Harness(const keel::OpMaker& factory, const keel::Attrs& attrs, std::vector<Shape> input_shapes,
          bool training = true)
      : Harness(factory, attrs, TypedInputs{f32_specs(input_shapes)}, training) {}

  Harness(const keel::OpMaker& factory, const keel::Attrs& attrs, TypedInputs inputs, bool training = true)
      : PreparedOp(factory, attrs, std::move(inputs.specs), training), training_(training) {}

  const Shape& output_shape(std::size_t i = 0) const { return inst_.outputs.at(i).shape; }
  keel::DType output_dtype(std::size_t i = 0) const { return inst_.outputs.at(i).dtype; }
  const Shape& input_shape(std::size_t i) const { return inst_.inputs.at(i).shape; }
  const Shape& param_shape(std::size_t i) const { return params_.at(i).shape; }
  std::size_t param_count() const { return params_.size(); }
  // Parameter gradients of the last backward().
  const std::vector<Floats>& param_grads() const { return param_grads_; }
  void set_step(std::uint64_t step, std::uint64_t seed = 0) {
    step_ = step;
    seed_ = seed;
  }

  std::vector<Floats> forward(const std::vector<Floats>& in) {
    Storage ins = const_views(inst_.inputs, in);
    std::vector<Floats> out;
    for (const keel::TensorSpec& s : inst_.outputs) out.emplace_back(count(s.shape), std::nanf(""));
    Storage outs = const_views(inst_.outputs, out);
    std::vector<keel::TensorView> out_views = mutable_views(outs);
    std::vector<keel::TensorView> par = param_views();
    keel::ForwardContext ctx{ins.views, out_views, par, training_, seed_, step_};
    const keel::Status st = inst_.op->forward(ctx);
    INFO(st.message());
    REQUIRE(st.ok());
    outs.read_back(inst_.outputs, out);
    return out;
  }

  // `wanted[i]` false passes a null gradient view, as the engine does for
  // inputs nobody needs a gradient of; those come back empty. Parameter
  // gradients are always asked for and land in param_grads().
  std::vector<Floats> backward(const std::vector<Floats>& in, const std::vector<Floats>& out,
                               const std::vector<Floats>& grad_out, std::vector<bool> wanted = {}) {
    if (wanted.empty()) wanted.assign(inst_.inputs.size(), true);
    Storage ins = const_views(inst_.inputs, in);
    Storage outs = const_views(inst_.outputs, out);
    Storage gouts = const_views(inst_.outputs, grad_out);
    std::vector<Floats> grads;
    std::vector<keel::TensorView> gins;
    for (std::size_t i = 0; i < inst_.inputs.size(); ++i)
      grads.emplace_back(wanted[i] ? count(inst_.inputs[i].shape) : 0, std::nanf(""));
    for (std::size_t i = 0; i < inst_.inputs.size(); ++i)
      gins.push_back({keel::DType::f32, inst_.inputs[i].shape, wanted[i] ? grads[i].data() : nullptr});
    param_grads_.clear();
    for (const auto& p : params_) param_grads_.emplace_back(count(p.shape), std::nanf(""));
    std::vector<keel::TensorView> gpar;
    for (std::size_t i = 0; i < params_.size(); ++i)
      gpar.push_back({keel::DType::f32, params_[i].shape, param_grads_[i].data()});
    std::vector<keel::ConstTensorView> par;
    for (const auto& v : param_views()) par.push_back({v.dtype, v.shape, v.data});
    keel::BackwardContext ctx{ins.views, outs.views, par, gouts.views, gins, gpar, seed_, step_};
    const keel::Status st = inst_.op->backward(ctx);
    INFO(st.message());
    REQUIRE(st.ok());
    return grads;
  }

 private:
  // Typed copies of float data for ports whose dtype is not f32.
  struct Storage {
    std::vector<std::vector<unsigned char>> bytes;
    std::vector<keel::ConstTensorView> views;
    void read_back(const std::vector<keel::TensorSpec>& specs, std::vector<Floats>& data) const {
      for (std::size_t i = 0; i < specs.size(); ++i) {
        if (specs[i].dtype == keel::DType::f32) continue;
        for (std::size_t k = 0; k < data[i].size(); ++k)
          data[i][k] = element(specs[i].dtype, bytes[i].data(), k);
      }
    }
  };

  static float element(keel::DType t, const unsigned char* p, std::size_t k) {
    switch (t) {
      case keel::DType::f64:
        return float(reinterpret_cast<const double*>(p)[k]);
      case keel::DType::i32:
        return float(reinterpret_cast<const std::int32_t*>(p)[k]);
      case keel::DType::i64:
        return float(reinterpret_cast<const std::int64_t*>(p)[k]);
      case keel::DType::u8:
      case keel::DType::boolean:
        return float(p[k]);
      default:
        return reinterpret_cast<const float*>(p)[k];
    }
  }

  static Storage const_views(const std::vector<keel::TensorSpec>& specs, const std::vector<Floats>& data) {
    REQUIRE(specs.size() == data.size());
    Storage s;
    s.bytes.resize(specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i) {
      REQUIRE(data[i].size() == count(specs[i].shape));
      const void* ptr = data[i].data();
      if (specs[i].dtype != keel::DType::f32) {
        auto& b = s.bytes[i];
        b.resize(data[i].size() * keel::dtype_size(specs[i].dtype) + 1);
        for (std::size_t k = 0; k < data[i].size(); ++k) {
          const float v = data[i][k];
          switch (specs[i].dtype) {
            case keel::DType::f64:
              reinterpret_cast<double*>(b.data())[k] = v;
              break;
            case keel::DType::i32:
              reinterpret_cast<std::int32_t*>(b.data())[k] = std::int32_t(v);
              break;
            case keel::DType::i64:
              reinterpret_cast<std::int64_t*>(b.data())[k] = std::int64_t(v);
              break;
            default:
              b[k] = static_cast<unsigned char>(v);
              break;
          }
        }
        ptr = b.data();
      }
      s.views.push_back({specs[i].dtype, specs[i].shape, ptr});
    }
    return s;
  }

  static std::vector<keel::TensorView> mutable_views(const Storage& s) {
    std::vector<keel::TensorView> v;
    for (const auto& c : s.views) v.push_back({c.dtype, c.shape, const_cast<void*>(c.data)});
    return v;
  }

  std::vector<Floats> param_grads_;
  bool training_ = true;
  std::uint64_t seed_ = 0, step_ = 0;
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

}  // namespace optest
