// scale and relu: elementwise unary ops on oneDNN's eltwise primitive.
#include "common/dnnl_op.hpp"
#include "common/keel_dnnl.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

enum class Kind { scale, relu };

class UnaryOp final : public du::DnnlOp {
 public:
  UnaryOp(Kind kind, float factor)
      : DnnlOp(kind == Kind::scale ? "scale" : "relu"), kind_(kind), factor_(factor) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32(name(), "x", ctx.inputs[0]));
    ctx.outputs = {ctx.inputs[0]};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    if (empty_) return Status::Ok();
    return run("forward", [&](dnnl::stream& s) {
      forward_.execute(s, {{DNNL_ARG_SRC, du::bind(x_mem_, ctx.inputs[0].data)},
                           {DNNL_ARG_DST, du::bind(y_mem_, ctx.outputs[0].data)}});
    });
  }

  Status backward(const BackwardContext& ctx) override {
    const TensorView& gx = ctx.grad_inputs[0];
    if (empty_ || gx.data == nullptr) return Status::Ok();
    return run("backward", [&](dnnl::stream& s) {
      const void* gy = ctx.grad_outputs[0].data;
      if (kind_ == Kind::scale) {
        // The map is linear, so its gradient is the same map applied to grad_y.
        forward_.execute(s,
                         {{DNNL_ARG_SRC, du::bind(x_mem_, gy)}, {DNNL_ARG_DST, du::bind(y_mem_, gx.data)}});
      } else {
        backward_.execute(s, {{DNNL_ARG_SRC, du::bind(x_mem_, ctx.inputs[0].data)},
                              {DNNL_ARG_DIFF_DST, du::bind(gy_mem_, gy)},
                              {DNNL_ARG_DIFF_SRC, du::bind(gx_mem_, gx.data)}});
      }
    });
  }

 private:
  Status build(const PrepareContext& ctx) override {
    // Elementwise: the shape does not matter, so any rank runs as one vector.
    const std::int64_t n = numel(ctx.inputs[0].shape);
    empty_ = n == 0;
    if (empty_) return Status::Ok();

    const dnnl::engine& eng = du::cpu_engine();
    const auto md = du::f32_desc({n});
    const auto algo = kind_ == Kind::scale ? dnnl::algorithm::eltwise_linear : dnnl::algorithm::eltwise_relu;
    const float alpha = kind_ == Kind::scale ? factor_ : 0.0f;
    const auto prop = ctx.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    const dnnl::eltwise_forward::primitive_desc fwd_pd({prop, algo, md, alpha, 0.0f}, eng);
    forward_ = dnnl::eltwise_forward(fwd_pd);
    x_mem_ = du::unbound_memory(md);
    y_mem_ = du::unbound_memory(md);
    if (ctx.training && kind_ == Kind::relu) {
      backward_ = dnnl::eltwise_backward({{algo, md, md, alpha, 0.0f}, eng, fwd_pd});
      gy_mem_ = du::unbound_memory(md);
      gx_mem_ = du::unbound_memory(md);
    }
    return Status::Ok();
  }

  Kind kind_;
  float factor_;
  bool empty_ = false;
  dnnl::eltwise_forward forward_;
  dnnl::eltwise_backward backward_;
  dnnl::memory x_mem_, y_mem_, gy_mem_, gx_mem_;
};

OpSchema unary_schema(const char* name, const char* doc, const char* y_doc) {
  OpSchema s;
  s.name = name;
  s.doc = doc;
  s.inputs = {{"x", "f32 tensor of any shape"}};
  s.outputs = {{"y", y_doc}};
  s.has_backward = true;
  s.inplace = true;  // oneDNN eltwise runs in place (src = dst, diff_dst = diff_src)
  return s;
}

}  // namespace

OpSchema scale_schema() {
  OpSchema s = unary_schema("scale", "Multiplies every element by a constant: y = factor * x.",
                            "factor * x, same shape as x");
  s.attrs = {AttrSpec{.name = "factor",
                      .type = AttrType::Float,
                      .doc = "the constant every element is multiplied by",
                      .default_value = AttrValue{1.0}}};
  return s;
}

std::unique_ptr<Op> make_scale(const Attrs& attrs) {
  const double factor = attrs.has("factor") ? attrs.f("factor") : 1.0;
  return std::make_unique<UnaryOp>(Kind::scale, static_cast<float>(factor));
}

OpSchema relu_schema() {
  return unary_schema("relu", "Rectified linear unit: y = max(x, 0).", "max(x, 0), same shape as x");
}

std::unique_ptr<Op> make_relu(const Attrs&) { return std::make_unique<UnaryOp>(Kind::relu, 0.0f); }

}  // namespace keel::nn
