// softmax along one axis, on oneDNN's softmax primitives. Any rank runs as
// [outer, n, inner] with the axis in the middle, so ranks beyond oneDNN's
// format tags work and no data moves.
#include "common/dnnl_op.hpp"
#include "common/keel_dnnl.hpp"
#include "nn_ops.hpp"
#include "layer_shape.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

class SoftmaxOp final : public du::DnnlOp {
 public:
  explicit SoftmaxOp(std::int64_t axis) : DnnlOp("softmax"), axis_(axis) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32("softmax", "x", ctx.inputs[0]));
    const Shape& x = ctx.inputs[0].shape;
    if (x.empty()) return fail("softmax: x must have rank 1 or more, got a scalar");
    std::size_t axis = 0;
    KEEL_RETURN_IF_ERROR(layer::normalize_axis("softmax", axis_, x.size(), axis));
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

  // grad_x = y * (grad_y - sum(grad_y * y)) along the axis: it needs y only.
  Status backward(const BackwardContext& ctx) override {
    const TensorView& gx = ctx.grad_inputs[0];
    if (empty_ || gx.data == nullptr) return Status::Ok();
    return run("backward", [&](dnnl::stream& s) {
      backward_.execute(s, {{DNNL_ARG_DST, du::bind(y_mem_, ctx.outputs[0].data)},
                            {DNNL_ARG_DIFF_DST, du::bind(gy_mem_, ctx.grad_outputs[0].data)},
                            {DNNL_ARG_DIFF_SRC, du::bind(gx_mem_, gx.data)}});
    });
  }

 private:
  Status build(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    if (x.empty()) return fail("softmax: x must have rank 1 or more, got a scalar");
    std::size_t axis = 0;
    KEEL_RETURN_IF_ERROR(layer::normalize_axis("softmax", axis_, x.size(), axis));
    const Dim outer = numel(std::span(x).first(axis));
    const Dim inner = numel(std::span(x).subspan(axis + 1));
    const Dim n = x[axis];
    empty_ = outer == 0 || n == 0 || inner == 0;
    if (empty_) return Status::Ok();

    const dnnl::engine& eng = du::cpu_engine();
    // A trailing axis of size 1 would steer oneDNN away from its fast
    // kernels for the common [rows, classes] case.
    const auto md = inner == 1 ? du::f32_desc({outer, n}) : du::f32_desc({outer, n, inner});
    const auto prop = ctx.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    const dnnl::softmax_forward::primitive_desc fwd_pd({prop, md, 1}, eng);
    forward_ = dnnl::softmax_forward(fwd_pd);
    x_mem_ = du::unbound_memory(md);
    y_mem_ = du::unbound_memory(md);
    if (ctx.training) {
      backward_ = dnnl::softmax_backward({{md, md, 1}, eng, fwd_pd});
      gy_mem_ = du::unbound_memory(md);
      gx_mem_ = du::unbound_memory(md);
    }
    return Status::Ok();
  }

  std::int64_t axis_;
  bool empty_ = false;
  dnnl::softmax_forward forward_;
  dnnl::softmax_backward backward_;
  dnnl::memory x_mem_, y_mem_, gy_mem_, gx_mem_;
};

}  // namespace

OpSchema softmax_schema() {
  OpSchema s;
  s.name = "softmax";
  s.doc = "Softmax along one axis: y = exp(x) / sum(exp(x)), computed without overflow.";
  s.inputs = {{"x", "f32 tensor of rank 1 or more"}};
  s.outputs = {{"y", "same shape as x; every slice along the axis sums to 1"}};
  s.attrs = {AttrSpec{.name = "axis",
                      .type = AttrType::Int,
                      .doc = "the axis normalized over; negative counts from the end",
                      .default_value = AttrValue{std::int64_t{-1}}}};
  s.has_backward = true;
  return s;
}

std::unique_ptr<Op> softmax_factory(const Attrs& attrs) {
  return std::make_unique<SoftmaxOp>(attrs.i("axis"));
}

}  // namespace keel::nn
