// linear: y = x · Wᵀ + b over the last axis of x, any leading axes folded
// into the rows of one oneDNN matmul; with `activation: relu`, y =
// max(0, x · Wᵀ + b) as a oneDNN post-op (what inference's plan-time
// optimization fuses: docs/graph-format.md).
#include <unordered_map>
#include <vector>

#include "common/dnnl_op.hpp"
#include "common/keel_dnnl.hpp"
#include "layer_shape.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;
using layer::checked_product;

class LinearOp final : public du::DnnlOp {
 public:
  LinearOp(std::int64_t units, bool bias, bool relu)
      : DnnlOp("linear"), units_(units), bias_(bias), relu_(relu) {}

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
    return run("forward", [&](dnnl::stream& s) {
      // The argument map holds the same memory objects: binding updates it.
      du::bind(x_mem_, ctx.inputs[0].data);
      du::bind(wt_mem_, ctx.params[0].data);
      du::bind(y_mem_, ctx.outputs[0].data);
      if (bias_) du::bind(b_mem_, ctx.params[1].data);
      forward_.execute(s, forward_args_);
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
    return run("backward", [&](dnnl::stream& s) {
      if (gx.data != nullptr)  // grad_x = grad_y · W
        grad_x_.execute(s, {{DNNL_ARG_SRC, du::bind(gy_mem_, gy)},
                            {DNNL_ARG_WEIGHTS, du::bind(w_mem_, ctx.params[0].data)},
                            {DNNL_ARG_DST, du::bind(gx_mem_, gx.data)}});
      if (gw.data != nullptr)  // grad_W = grad_yᵀ · x
        grad_w_.execute(s, {{DNNL_ARG_SRC, du::bind(gyt_mem_, gy)},
                            {DNNL_ARG_WEIGHTS, du::bind(x_mem_, ctx.inputs[0].data)},
                            {DNNL_ARG_DST, du::bind(gw_mem_, gw.data)}});
      if (bias_ && gb.data != nullptr)  // grad_b = 1ᵀ · grad_y, the column sums
        grad_b_.execute(s, {{DNNL_ARG_SRC, ones_mem_},
                            {DNNL_ARG_WEIGHTS, du::bind(gy_mem_, gy)},
                            {DNNL_ARG_DST, du::bind(gb_mem_, gb.data)}});
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

    const dnnl::engine& eng = du::cpu_engine();
    const Dim M = rows_, K = in, N = units_;
    const auto x_md = du::f32_desc({M, K});
    const auto y_md = du::f32_desc({M, N});
    const auto w_md = du::f32_desc({N, K});
    const auto b_md = du::f32_desc({1, N});
    // Wᵀ and grad_yᵀ are views of the row-major buffers with swapped strides.
    const auto wt_md = du::f32_desc({K, N}, {1, K});
    const auto gyt_md = du::f32_desc({N, M}, {1, N});
    dnnl::primitive_attr attr;
    if (relu_) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);  // scale 1, slope 0
      attr.set_post_ops(ops);
    }
    forward_ = bias_ ? dnnl::matmul({{x_md, wt_md, b_md, y_md}, attr, eng})
                     : dnnl::matmul({{x_md, wt_md, y_md}, attr, eng});
    x_mem_ = du::unbound_memory(x_md);
    wt_mem_ = du::unbound_memory(wt_md);
    b_mem_ = du::unbound_memory(b_md);
    y_mem_ = du::unbound_memory(y_md);
    forward_args_ = {{DNNL_ARG_SRC, x_mem_}, {DNNL_ARG_WEIGHTS, wt_mem_}, {DNNL_ARG_DST, y_mem_}};
    if (bias_) forward_args_.emplace(DNNL_ARG_BIAS, b_mem_);
    if (!ctx.training) return Status::Ok();

    grad_x_ = dnnl::matmul({{y_md, w_md, x_md}, eng});
    grad_w_ = dnnl::matmul({{gyt_md, x_md, w_md}, eng});
    if (bias_) {
      // A matmul with a row of ones runs on the optimized GEMM kernels;
      // oneDNN's reduction has only a reference kernel for this layout.
      ones_.assign(static_cast<std::size_t>(M), 1.0f);
      const auto ones_md = du::f32_desc({1, M});
      grad_b_ = dnnl::matmul({{ones_md, y_md, b_md}, eng});
      ones_mem_ = dnnl::memory(ones_md, eng, ones_.data());
    }
    gy_mem_ = du::unbound_memory(y_md);
    gyt_mem_ = du::unbound_memory(gyt_md);
    w_mem_ = du::unbound_memory(w_md);
    gx_mem_ = du::unbound_memory(x_md);
    gw_mem_ = du::unbound_memory(w_md);
    gb_mem_ = du::unbound_memory(b_md);
    return Status::Ok();
  }

  std::int64_t units_;
  bool bias_, relu_;
  Dim rows_ = 0;
  std::vector<float> masked_gy_;
  dnnl::matmul forward_, grad_x_, grad_w_, grad_b_;
  std::vector<float> ones_;
  std::unordered_map<int, dnnl::memory> forward_args_;
  dnnl::memory x_mem_, wt_mem_, b_mem_, y_mem_, gy_mem_, gyt_mem_, w_mem_, gx_mem_, gw_mem_, gb_mem_,
      ones_mem_;
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
