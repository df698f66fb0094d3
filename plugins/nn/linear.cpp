// linear: y = x · Wᵀ + b over the last axis of x, any leading axes folded
// into the rows of one oneDNN matmul; with `activation: relu`, y =
// max(0, x · Wᵀ + b) as a oneDNN post-op (what inference's plan-time
// optimization fuses: docs/graph-format.md). Every product runs as a
// SplitMatmul and the bias gradient as fixed-order column sums, so results
// do not depend on the thread count (common/split_matmul.hpp).
#include <vector>

#include "common/dnnl_op.hpp"
#include "common/keel_dnnl.hpp"
#include "common/split_matmul.hpp"
#include "layer_shape.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;
using layer::checked_product;

class LinearOp final : public du::DnnlOp {
 public:
  LinearOp(std::int64_t units, bool bias, bool relu)
      : DnnlOp("linear", Threads::by_op), units_(units), bias_(bias), relu_(relu) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32("linear", "x", ctx.inputs[0]));
    if (units_ < 1) return fail("linear: units must be at least 1, got ", units_);
    const Shape& x = ctx.inputs[0].shape;
    if (x.empty()) return fail("linear: x must have rank 1 or more, got a scalar");
    // The weight's shape comes from this size, so it cannot wait for data.
    if (!is_static(x.back()) || x.back() < 1)
      return fail("linear: the last axis of x must have a known size of at least 1, got ", shape_str(x));
    Shape y = x;
    y.back() = units_;
    ctx.outputs = {TensorSpec{DType::f32, std::move(y)}};
    ctx.param_shapes = {Shape{units_, x.back()}, Shape{units_}};
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    if (rows_ == 0) return Status::Ok();  // y has no elements
    return in_onednn("forward", [&] {
      forward_.execute(ctx.inputs[0].data, ctx.params[0].data, ctx.outputs[0].data,
                       bias_ ? ctx.params[1].data : nullptr);
      return Status::Ok();
    });
  }

  Status backward(const BackwardContext& ctx) override {
    const TensorView& gx = ctx.grad_inputs[0];
    const TensorView& gw = ctx.grad_params[0];
    const TensorView& gb = ctx.grad_params[1];
    // Without a bias term the bias parameter does not affect y: its gradient
    // is exactly zero. With no rows every sum over rows is empty.
    if (!bias_ || rows_ == 0) du::zero_fill(gb);
    if (rows_ == 0) {
      du::zero_fill(gw);
      return Status::Ok();
    }
    // A fused ReLU passes the gradient where it passed the value (y > 0).
    const void* gy = ctx.grad_outputs[0].data;
    if (relu_) {
      const float* g = ctx.grad_outputs[0].as<float>();
      const float* y = ctx.outputs[0].as<float>();
      masked_gy_.resize(static_cast<std::size_t>(rows_ * units_));
      for (std::size_t i = 0; i < masked_gy_.size(); ++i) masked_gy_[i] = y[i] > 0.0f ? g[i] : 0.0f;
      gy = masked_gy_.data();
    }
    return in_onednn("backward", [&] {
      if (gx.data != nullptr) grad_x_.execute(gy, ctx.params[0].data, gx.data);  // grad_y · W
      if (gw.data != nullptr) grad_w_.execute(gy, ctx.inputs[0].data, gw.data);  // grad_yᵀ · x
      if (bias_ && gb.data != nullptr)                                           // 1ᵀ · grad_y
        du::column_sums(static_cast<const float*>(gy), rows_, units_, gb.as<float>());
      return Status::Ok();
    });
  }

 private:
  Status build(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    const Dim in = x.back();
    const auto rows = checked_product(x.begin(), x.end() - 1);
    if (!rows) return fail("linear: x ", shape_str(x), " has too many elements");
    rows_ = *rows;
    if (rows_ == 0) return Status::Ok();

    const Dim M = rows_, K = in, N = units_;
    // Wᵀ and grad_yᵀ are views of the row-major buffers with swapped strides.
    forward_.build({M, K, K, 1}, {K, N, 1, K}, {.bias = bias_, .relu = relu_});
    if (!ctx.training) return Status::Ok();
    grad_x_.build({M, N, N, 1}, {N, K, K, 1});
    grad_w_.build({N, M, 1, N}, {M, K, K, 1});
    return Status::Ok();
  }

  std::int64_t units_;
  bool bias_, relu_;
  Dim rows_ = 0;
  std::vector<float> masked_gy_;
  du::SplitMatmul forward_, grad_x_, grad_w_;
};

}  // namespace

OpSchema linear_schema() {
  OpSchema s = plugin_util::schema(
      "linear", "Fully connected layer over the last axis: y = x · weightᵀ + bias.",
      {{"x", "f32 [..., in]; the last axis must have a known size"}}, {{"y", "f32 [..., units]"}});
  s.attrs = {
      AttrSpec{.name = "units", .type = AttrType::Int, .doc = "size of the output's last axis", .min = 1.0},
      AttrSpec{.name = "bias",
               .type = AttrType::Bool,
               .doc = "add the bias parameter; when false it stays unused and its gradient is zero",
               .default_value = AttrValue{true}},
      AttrSpec{.name = "activation",
               .type = AttrType::String,
               .doc =
                   "relu: y = max(0, x · weightᵀ + bias) in the same pass (inference folds a following relu "
                   "node into this); none: no activation",
               .default_value = AttrValue{std::string("none")},
               .choices = {"none", "relu"}}};
  s.params = {ParamSpec{.name = "weight",
                        .doc = "[units, in], he_uniform: U(±sqrt(6/in)), the Kaiming bound for ReLU "
                               "layers (PyTorch's default draws from the narrower U(±1/sqrt(in)))",
                        .init = Init::HeUniform},
              ParamSpec{.name = "bias", .doc = "[units], starts at zero", .init = Init::Zeros}};
  s.has_backward = true;
  s.examples = {{.attrs = {{"units", std::int64_t{3}}}, .inputs = {{{DType::f32, {kBatch, 4}}}}},
                {.doc = "rank 3, no bias",
                 .attrs = {{"units", std::int64_t{2}}, {"bias", false}},
                 .inputs = {{{DType::f32, {kBatch, 2, 4}}}}},
                {.doc = "fused relu",
                 .attrs = {{"units", std::int64_t{3}}, {"activation", std::string("relu")}},
                 .inputs = {{{DType::f32, {kBatch, 4}}}}}};
  return s;
}

std::unique_ptr<Op> linear_factory(const Attrs& attrs) {
  return std::make_unique<LinearOp>(attrs.i("units"), attrs.b("bias"), attrs.s("activation") == "relu");
}

}  // namespace keel::nn
