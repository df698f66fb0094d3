// residual_block: y = x + conv3x3(relu(conv1x1(x))), a bottleneck residual
// block as one node. conv1 maps C -> width channels, conv2 (padding 1, so H
// and W are kept) maps width -> C, and the skip needs no projection.
//
// Backward reuses the activation relu(conv1(x)) that the step's forward
// left in a buffer owned here (the engine runs a node's backward right
// after its forward of the same step), so no convolution is recomputed.
#include "common/dnnl_op.hpp"
#include "common/keel_conv.hpp"
#include "residual_ops.hpp"

namespace keel::residual {
namespace {

namespace du = keel::dnnl_util;

constexpr std::int64_t max_width = 1 << 16;  // beyond it sizes only overflow

// A buffer oneDNN allocates (aligned for its kernels), made in prepare().
struct Buffer {
  dnnl::memory mem;
  float* data() const { return static_cast<float*>(mem.get_data_handle()); }
};

Buffer make_buffer(const dnnl::memory::desc& md) { return {dnnl::memory(md, du::cpu_engine())}; }

class ResidualBlockOp final : public du::DnnlOp {
 public:
  explicit ResidualBlockOp(const Attrs& attrs) : DnnlOp("residual_block"), width_attr_(attrs.i("width")) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32("residual_block", "x", ctx.inputs[0]));
    const Shape& x = ctx.inputs[0].shape;
    if (x.size() != 4) return fail("residual_block: x must be [N, C, H, W], got ", shape_str(x));
    if (!is_static(x[1]) || !is_static(x[2]) || !is_static(x[3]))
      return fail("residual_block: x is ", shape_str(x),
                  ": channels, height and width must be fixed sizes; only the batch may be named");
    if (x[1] < 1 || x[2] < 1 || x[3] < 1)
      return fail("residual_block: x is ", shape_str(x), ": channels, height and width must be at least 1");
    if (width_attr_ < 0 || width_attr_ > max_width)
      return fail("residual_block: width must lie in [0, ", max_width, "] (0: same as C), got ", width_attr_);
    const Dim c = x[1], width = width_of(c);
    ctx.outputs = {ctx.inputs[0]};
    ctx.param_shapes = {{width, c, 1, 1}, {width}, {c, width, 3, 3}, {c}};
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    if (size_ == 0) return Status::Ok();
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    KEEL_RETURN_IF_ERROR(in_onednn("forward", [&] {
      conv1_.forward(x, ctx.params[0].as<float>(), ctx.params[1].as<float>(), act_.data());
      dnnl::stream& s = du::thread_stream();
      relu_.execute(s, {{DNNL_ARG_SRC, act_.mem}, {DNNL_ARG_DST, act_.mem}});  // in place
      s.wait();
      conv2_.forward(act_.data(), ctx.params[2].as<float>(), ctx.params[3].as<float>(), y);
      return Status::Ok();
    }));
    for (std::int64_t i = 0; i < size_; ++i) y[i] += x[i];
    return Status::Ok();
  }

  Status backward(const BackwardContext& ctx) override {
    const TensorView& gx = ctx.grad_inputs[0];
    if (size_ == 0) {
      for (const TensorView& g : ctx.grad_params) du::zero_fill(g);
      return Status::Ok();
    }
    const float* x = ctx.inputs[0].as<float>();
    const float* gy = ctx.grad_outputs[0].as<float>();
    KEEL_RETURN_IF_ERROR(in_onednn("backward", [&] {
      // conv2: grad of its input (the activation) and of its parameters.
      conv2_.backward_data(gy, ctx.params[2].as<float>(), grad_act_.data());
      conv2_.backward_weights(act_.data(), gy, param_grad(ctx, 2), param_grad(ctx, 3));
      // relu, from its output: the gradient passes where the activation is > 0.
      dnnl::stream& s = du::thread_stream();
      relu_backward_.execute(
          s,
          {{DNNL_ARG_DST, act_.mem}, {DNNL_ARG_DIFF_DST, grad_act_.mem}, {DNNL_ARG_DIFF_SRC, grad_act_.mem}});
      s.wait();
      conv1_.backward_weights(x, grad_act_.data(), param_grad(ctx, 0), param_grad(ctx, 1));
      if (gx.data != nullptr)
        conv1_.backward_data(grad_act_.data(), ctx.params[0].as<float>(), gx.as<float>());
      return Status::Ok();
    }));
    if (gx.data != nullptr) {  // plus the skip path's identity
      float* out = gx.as<float>();
      for (std::int64_t i = 0; i < size_; ++i) out[i] += gy[i];
    }
    return Status::Ok();
  }

 private:
  Dim width_of(Dim c) const { return width_attr_ == 0 ? c : width_attr_; }

  // backward_weights writes weight and bias gradients together; one nobody
  // asked for lands in a spare buffer.
  float* param_grad(const BackwardContext& ctx, std::size_t i) {
    const TensorView& g = ctx.grad_params[i];
    return g.data != nullptr ? g.as<float>() : spare_[i].data();
  }

  Status build(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    const Dim n = x[0], c = x[1], h = x[2], w = x[3], width = width_of(c);
    size_ = numel(x);
    if (size_ == 0) return Status::Ok();

    du::Conv2dGeometry g1;
    g1.n = n, g1.c_in = c, g1.h = h, g1.w = w, g1.c_out = width, g1.kh = 1, g1.kw = 1;
    du::Conv2dGeometry g2 = g1;
    g2.c_in = width, g2.c_out = c, g2.kh = 3, g2.kw = 3, g2.pad_h = 1, g2.pad_w = 1;
    conv1_.prepare(g1, ctx.training);
    conv2_.prepare(g2, ctx.training);

    const dnnl::memory::desc act_md({n, width, h, w}, dnnl::memory::data_type::f32,
                                    dnnl::memory::format_tag::nchw);
    act_ = make_buffer(act_md);
    const auto kind = ctx.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    const dnnl::eltwise_forward::primitive_desc relu_pd(
        {kind, dnnl::algorithm::eltwise_relu_use_dst_for_bwd, act_md, 0.0f, 0.0f}, du::cpu_engine());
    relu_ = dnnl::eltwise_forward(relu_pd);
    if (!ctx.training) return Status::Ok();
    grad_act_ = make_buffer(act_md);
    relu_backward_ =
        dnnl::eltwise_backward({{dnnl::algorithm::eltwise_relu_use_dst_for_bwd, act_md, act_md, 0.0f, 0.0f},
                                du::cpu_engine(),
                                relu_pd});
    spare_[0].assign(static_cast<std::size_t>(width * c), 0.0f);
    spare_[1].assign(static_cast<std::size_t>(width), 0.0f);
    spare_[2].assign(static_cast<std::size_t>(c * width * 9), 0.0f);
    spare_[3].assign(static_cast<std::size_t>(c), 0.0f);
    return Status::Ok();
  }

  std::int64_t width_attr_;
  std::int64_t size_ = 0;
  du::Conv2d conv1_, conv2_;
  dnnl::eltwise_forward relu_;
  dnnl::eltwise_backward relu_backward_;
  Buffer act_, grad_act_;  // relu(conv1(x)) and its gradient, [N, width, H, W]
  std::vector<float> spare_[4];
};

}  // namespace

OpSchema residual_block_schema() {
  OpSchema s = plugin_util::schema(
      "residual_block", "Bottleneck residual block y = x + conv3x3(relu(conv1x1(x))) over NCHW images.",
      {{"x", "f32 [N, C, H, W]; C, H and W must be fixed sizes"}}, {{"y", "f32 [N, C, H, W]"}});
  s.attrs = {{"width",
              AttrType::Int,
              "channels between the two convolutions; 0 means C",
              AttrValue(std::int64_t(0)),
              0.0,
              double(max_width),
              {}}};
  s.params = {{"conv1_weight", "[width, C, 1, 1], He-uniform initialized", Init::HeUniform, true},
              {"conv1_bias", "[width], zero initialized", Init::Zeros, true},
              {"conv2_weight", "[C, width, 3, 3] (padding 1), He-uniform initialized", Init::HeUniform, true},
              {"conv2_bias", "[C], zero initialized", Init::Zeros, true}};
  s.has_backward = true;
  s.examples = {{.attrs = {{"width", std::int64_t{3}}}, .inputs = {{{DType::f32, {kBatch, 2, 3, 3}}}}}};
  return s;
}

std::unique_ptr<Op> residual_block_factory(const Attrs& attrs) {
  return std::make_unique<ResidualBlockOp>(attrs);
}

}  // namespace keel::residual
