// global_avg_pool: [N, C, H, W] -> [N, C], the mean of each channel's image.
#include <cstring>

#include "common/dnnl_op.hpp"
#include "common/keel_dnnl.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

class GlobalAvgPoolOp final : public du::DnnlOp {
 public:
  GlobalAvgPoolOp() : DnnlOp("global_avg_pool") {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32("global_avg_pool", "x", ctx.inputs[0]));
    const Shape& x = ctx.inputs[0].shape;
    if (x.size() != 4) return fail("global_avg_pool: x must be [N, C, H, W], got ", shape_str(x));
    // A mean over no pixels has no value.
    if ((is_static(x[2]) && x[2] < 1) || (is_static(x[3]) && x[3] < 1))
      return fail("global_avg_pool: x is ", shape_str(x), ": height and width must be at least 1");
    ctx.outputs = {TensorSpec{DType::f32, {x[0], x[1]}}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    if (planes_ == 0) return Status::Ok();
    if (pixels_ == 1) {  // a 1x1 image is its own mean
      std::memcpy(ctx.outputs[0].data, ctx.inputs[0].data, static_cast<std::size_t>(planes_) * sizeof(float));
      return Status::Ok();
    }
    return run("forward", [&](dnnl::stream& s) {
      mean_.execute(s, {{DNNL_ARG_SRC, du::bind(x_mem_, ctx.inputs[0].data)},
                        {DNNL_ARG_DST, du::bind(y_mem_, ctx.outputs[0].data)},
                        {DNNL_ARG_SCRATCHPAD, scratchpad_}});
    });
  }

  // Every pixel contributed 1/(H*W) of its channel's mean.
  Status backward(const BackwardContext& ctx) override {
    const TensorView& gx = ctx.grad_inputs[0];
    if (gx.data == nullptr) return Status::Ok();
    const float* gy = ctx.grad_outputs[0].as<float>();
    float* out = gx.as<float>();
    const float inv = 1.0f / static_cast<float>(pixels_);
    for (std::int64_t p = 0; p < planes_; ++p) {
      const float v = gy[p] * inv;
      float* row = out + p * pixels_;
      for (std::int64_t k = 0; k < pixels_; ++k) row[k] = v;
    }
    return Status::Ok();
  }

 private:
  Status build(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    if (x[2] < 1 || x[3] < 1) return fail("global_avg_pool: height and width must be at least 1");
    planes_ = x[0] * x[1];
    pixels_ = x[2] * x[3];
    // oneDNN rejects a reduction that reduces nothing (1x1 images).
    if (planes_ == 0 || pixels_ == 1) return Status::Ok();
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc x_md({x[0], x[1], x[2], x[3]}, dt::f32, tag::nchw);
    // [N, C, 1, 1] in nchw is [N, C] byte for byte.
    const dnnl::memory::desc y_md({x[0], x[1], 1, 1}, dt::f32, tag::nchw);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    // A mean reduction over plain nchw: ONEDNN_VERBOSE=1 shows the jit
    // reduction kernel (jit:avx512_core_bf16 on AVX-512) for every shape
    // tried, while pooling_avg falls back to "simple_nchw" on small images
    // and was 2.7x slower on [32, 256, 14, 14] (1 thread: 1.17 ms vs 0.43 ms).
    // No reorder: one pass over memory is all this op needs.
    const dnnl::reduction::primitive_desc pd({dnnl::algorithm::reduction_mean, x_md, y_md, 0.0f, 0.0f}, attr,
                                             du::cpu_engine());
    mean_ = dnnl::reduction(pd);
    x_mem_ = du::unbound_memory(x_md);
    y_mem_ = du::unbound_memory(y_md);
    scratchpad_ = dnnl::memory(pd.scratchpad_desc(), du::cpu_engine());
    return Status::Ok();
  }

  std::int64_t planes_ = 0, pixels_ = 1;
  dnnl::reduction mean_;
  dnnl::memory x_mem_, y_mem_, scratchpad_;
};

}  // namespace

OpSchema global_avg_pool_schema() {
  OpSchema s = plugin_util::schema("global_avg_pool",
                                   "Mean of every channel over its whole image: [N, C, H, W] -> [N, C].",
                                   {{"x", "f32 [N, C, H, W], H and W at least 1"}},
                                   {{"y", "f32 [N, C], y[n, c] = mean of x[n, c, :, :]"}});
  s.has_backward = true;
  s.examples = {{.inputs = {{{DType::f32, {kBatch, 3, 2, 2}}}}}};
  return s;
}

std::unique_ptr<Op> global_avg_pool_factory(const Attrs&) { return std::make_unique<GlobalAvgPoolOp>(); }

}  // namespace keel::nn
