// upsample: nearest-neighbour enlargement of NCHW images by an integer
// factor, PyTorch's interpolate(mode='nearest', scale_factor=s): every input
// pixel becomes an s x s block of copies.
//
// Plain loops, not oneDNN's resampling: the work is a copy (forward) and a
// block sum (backward), memory-bound either way, and whole output rows are
// written once and then duplicated with memcpy, so nothing is left for a
// primitive to win.
#include <cstring>

#include "nn_ops.hpp"

namespace keel::nn {
namespace {

// An image larger than this along one axis is not an image; the bound only
// keeps H*scale far from overflow.
constexpr std::int64_t max_scale = 1 << 12;

class UpsampleOp final : public Op {
 public:
  explicit UpsampleOp(const Attrs& attrs) : scale_(attrs.i("scale")) {}

  Status infer(InferContext& ctx) const override {
    if (scale_ < 1 || scale_ > max_scale)
      return fail("upsample: scale must lie in [1, ", max_scale, "], got ", scale_);
    const TensorSpec& in = ctx.inputs[0];
    if (in.dtype != DType::f32)
      return fail("upsample: x has dtype ", dtype_name(in.dtype), "; only f32 is supported");
    const Shape& x = in.shape;
    if (x.size() != 4) return fail("upsample: x must be [N, C, H, W], got ", shape_str(x));
    if (!is_static(x[2]) || !is_static(x[3]))
      return fail("upsample: x is ", shape_str(x), ": height and width must be fixed sizes");
    Dim ho = 0, wo = 0;
    if (__builtin_mul_overflow(x[2], scale_, &ho) || __builtin_mul_overflow(x[3], scale_, &wo))
      return fail("upsample: x is ", shape_str(x), ": the output size overflows");
    ctx.outputs = {TensorSpec{DType::f32, {x[0], x[1], ho, wo}}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    planes_ = x[0] * x[1];
    h_ = x[2];
    w_ = x[3];
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    const float* x = ctx.inputs[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    const std::int64_t s = scale_, wo = w_ * s;
    const std::size_t row_bytes = static_cast<std::size_t>(wo) * sizeof(float);
    for (std::int64_t r = 0; r < planes_ * h_; ++r) {  // r: input row over all planes
      const float* in = x + r * w_;
      float* out = y + r * s * wo;  // the first of the s output rows it becomes
      for (std::int64_t j = 0; j < w_; ++j)
        for (std::int64_t t = 0; t < s; ++t) out[j * s + t] = in[j];
      for (std::int64_t k = 1; k < s; ++k) std::memcpy(out + k * wo, out, row_bytes);
    }
    return Status::Ok();
  }

  // Each input pixel fed its whole s x s block, so its gradient is the block's sum.
  Status backward(const BackwardContext& ctx) override {
    const TensorView& gx_view = ctx.grad_inputs[0];
    if (gx_view.data == nullptr) return Status::Ok();
    const float* gy = ctx.grad_outputs[0].as<float>();
    float* gx = gx_view.as<float>();
    const std::int64_t s = scale_, wo = w_ * s;
    for (std::int64_t r = 0; r < planes_ * h_; ++r) {
      float* out = gx + r * w_;
      const float* block = gy + r * s * wo;
      for (std::int64_t j = 0; j < w_; ++j) out[j] = 0.0f;
      for (std::int64_t k = 0; k < s; ++k) {
        const float* row = block + k * wo;
        for (std::int64_t j = 0; j < w_; ++j)
          for (std::int64_t t = 0; t < s; ++t) out[j] += row[j * s + t];
      }
    }
    return Status::Ok();
  }

 private:
  std::int64_t scale_ = 2;
  std::int64_t planes_ = 0, h_ = 0, w_ = 0;
};

}  // namespace

OpSchema upsample_schema() {
  OpSchema s = plugin_util::schema(
      "upsample",
      "Nearest-neighbour upsampling of NCHW images by an integer factor: every pixel becomes a scale x scale "
      "block of copies (PyTorch's interpolate with mode 'nearest').",
      {{"x", "f32 [N, C, H, W]; H and W must be fixed sizes"}},
      {{"y", "f32 [N, C, H*scale, W*scale], y[n, c, i, j] = x[n, c, floor(i/scale), floor(j/scale)]"}});
  s.attrs = {{"scale",
              AttrType::Int,
              "enlargement factor of height and width",
              AttrValue(std::int64_t{2}),
              1.0,
              double(max_scale),
              {}}};
  s.has_backward = true;
  s.examples = {{.inputs = {{{DType::f32, {kBatch, 2, 3, 4}}}}},
                {.doc = "scale 3",
                 .attrs = {{"scale", std::int64_t{3}}},
                 .inputs = {{{DType::f32, {kBatch, 1, 2, 1}}}}}};
  return s;
}

std::unique_ptr<Op> upsample_factory(const Attrs& attrs) { return std::make_unique<UpsampleOp>(attrs); }

}  // namespace keel::nn
