// softmax and log_softmax along one axis, on oneDNN's softmax and
// logsoftmax primitives. Any rank runs as [outer, n, inner] with the axis in
// the middle, so ranks beyond oneDNN's format tags work and no data moves.
#include "layer_shape.hpp"
#include "nn_ops.hpp"
#include "unary_op.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

// The backward reads y only: grad_x = y * (grad_y - sum(grad_y * y)) along
// the axis for softmax, grad_x = grad_y - exp(y) * sum(grad_y) for
// log_softmax. oneDNN's logsoftmax subtracts the maximum and the log of the
// shifted sum, so neither overflows.
template <class Forward, class Backward>
class AxisSoftmaxOp final : public UnaryDnnlOp<Forward, Backward> {
  using Base = UnaryDnnlOp<Forward, Backward>;

 public:
  AxisSoftmaxOp(const char* name, std::int64_t axis) : Base(name, /*use_dst=*/true), axis_(axis) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32(this->name(), "x", ctx.inputs[0]));
    const Shape& x = ctx.inputs[0].shape;
    if (x.empty()) return fail(this->name(), ": x must have rank 1 or more, got a scalar");
    std::size_t axis = 0;
    KEEL_RETURN_IF_ERROR(layer::normalize_axis(this->name(), axis_, x.size(), axis));
    ctx.outputs = {ctx.inputs[0]};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

 private:
  Status build(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    std::size_t axis = 0;
    KEEL_RETURN_IF_ERROR(layer::normalize_axis(this->name(), axis_, x.size(), axis));
    const Dim outer = numel(std::span(x).first(axis));
    const Dim inner = numel(std::span(x).subspan(axis + 1));
    const Dim n = x[axis];
    this->empty_ = outer == 0 || n == 0 || inner == 0;
    if (this->empty_) return Status::Ok();

    const dnnl::engine& eng = du::cpu_engine();
    // A trailing axis of size 1 would steer oneDNN away from its fast
    // kernels for the common [rows, classes] case.
    const auto md = inner == 1 ? du::f32_desc({outer, n}) : du::f32_desc({outer, n, inner});
    const auto prop = ctx.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    const typename Forward::primitive_desc fwd_pd({prop, md, 1}, eng);
    this->forward_ = Forward(fwd_pd);
    if (ctx.training) this->backward_ = Backward({{md, md, 1}, eng, fwd_pd});
    this->make_memory(md, ctx.training);
    return Status::Ok();
  }

  std::int64_t axis_;
};

using SoftmaxOp = AxisSoftmaxOp<dnnl::softmax_forward, dnnl::softmax_backward>;
using LogSoftmaxOp = AxisSoftmaxOp<dnnl::logsoftmax_forward, dnnl::logsoftmax_backward>;

OpSchema axis_schema(const char* name, const char* doc, const char* y_doc) {
  OpSchema s = plugin_util::schema(name, doc, {{"x", "f32 tensor of rank 1 or more"}}, {{"y", y_doc}});
  s.attrs = {AttrSpec{.name = "axis",
                      .type = AttrType::Int,
                      .doc = "the axis normalized over; negative counts from the end",
                      .default_value = AttrValue{std::int64_t{-1}}}};
  s.has_backward = true;
  return s;
}

}  // namespace

OpSchema softmax_schema() {
  return axis_schema("softmax",
                     "Softmax along one axis: y = exp(x) / sum(exp(x)), computed without overflow.",
                     "same shape as x; every slice along the axis sums to 1");
}

std::unique_ptr<Op> softmax_factory(const Attrs& attrs) {
  return std::make_unique<SoftmaxOp>("softmax", attrs.i("axis"));
}

OpSchema log_softmax_schema() {
  return axis_schema("log_softmax",
                     "Log of the softmax along one axis, as torch.log_softmax: y = x - max(x) - "
                     "log(sum(exp(x - max(x)))), computed without overflow.",
                     "same shape as x; every slice along the axis has sum(exp(y)) = 1");
}

std::unique_ptr<Op> log_softmax_factory(const Attrs& attrs) {
  return std::make_unique<LogSoftmaxOp>("log_softmax", attrs.i("axis"));
}

}  // namespace keel::nn
