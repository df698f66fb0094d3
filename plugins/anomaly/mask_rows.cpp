// mask_rows: y = x with every row whose mask is non-zero replaced by
// `fill`, so what a guard rejected cannot flow on unnoticed.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "anomaly_ops.hpp"

namespace keel::anomaly {
namespace {

class MaskRowsOp final : public Op {
 public:
  explicit MaskRowsOp(const Attrs& a) : fill_(float(a.f("fill"))) {}

  Status infer(InferContext& ctx) const override {
    const TensorSpec& x = ctx.inputs[0];
    const TensorSpec& m = ctx.inputs[1];
    if (x.dtype != DType::f32 || m.dtype != DType::f32) return fail("mask_rows: x and mask must be f32");
    if (x.shape.empty()) return fail("mask_rows: x is a scalar; it needs rows (the first axis)");
    if (m.shape.size() != 1 || m.shape[0] != x.shape[0])
      return fail("mask_rows: mask must be [rows] with x's first axis; x is ", shape_str(x.shape),
                  ", mask is ", shape_str(m.shape));
    ctx.outputs = {x};
    ctx.param_shapes.clear();
    return {};
  }

  Status forward(const ForwardContext& ctx) override {
    const auto& x = ctx.inputs[0];
    const std::int64_t rows = x.shape[0];
    const std::int64_t cols = rows ? x.numel() / rows : 0;
    const float* in = x.as<float>();
    const float* mask = ctx.inputs[1].as<float>();
    float* out = ctx.outputs[0].as<float>();
    for (std::int64_t r = 0; r < rows; ++r) {
      if (mask[r] != 0.0f)
        std::fill(out + r * cols, out + (r + 1) * cols, fill_);
      else if (out != in)
        std::memcpy(out + r * cols, in + r * cols, std::size_t(cols) * sizeof(float));
    }
    return {};
  }

 private:
  float fill_;
};

}  // namespace

OpSchema mask_rows_schema() {
  OpSchema s = plugin_util::schema(
      "mask_rows", "y = x with the rows a guard flagged (mask != 0) replaced by fill.",
      {{"x", "f32 [rows, ...]", false}, {"mask", "f32 [rows], a guard's mask output", false}},
      {{"y", "x's shape"}});
  s.attrs = {AttrSpec{.name = "fill",
                      .type = AttrType::Float,
                      .doc = "value written over every element of a flagged row",
                      .default_value = AttrValue{0.0}}};
  s.examples = {{.inputs = {{{DType::f32, {kBatch, 4}}}, {{DType::f32, {kBatch}}, 0.0, 1.0}}}};
  return s;
}

std::unique_ptr<Op> mask_rows_factory(const Attrs& attrs) { return std::make_unique<MaskRowsOp>(attrs); }

}  // namespace keel::anomaly
