// max_pool2d and avg_pool2d over NCHW images, on oneDNN's pooling_v2
// primitives (pooling with dilation). PyTorch's arithmetic, with ONNX's
// per-side padding:
//   - along each axis, ext = dilation*(kernel-1) + 1 and the output size is
//     floor((in + lo + hi - ext) / stride) + 1; ceil_mode rounds up instead,
//     but drops a last window that would start in the bottom/right padding
//     (PyTorch and ONNX alike);
//   - max ignores padded cells (PyTorch pads with -inf);
//   - avg divides by the window's cells inside the image, or, with
//     count_include_pad, inside the padded image.
//
// oneDNN has no ceil mode: its output size is the floor one, so the
// bottom/right padding handed to it grows until that yields ceil's (as
// PyTorch's own oneDNN path does). Those extra cells must not count: max
// ignores padding anyway, and avg without count_include_pad
// (pooling_avg_exclude_padding) counts image cells only. With
// count_include_pad, oneDNN's pooling_avg_include_padding divides every
// window by kh*kw; the windows reaching past the padded image, which only
// ceil mode makes and which lie in the last output row or column, are then
// rescaled by kh*kw / (their cells inside it): the outputs after forward,
// grad_y before backward.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/dnnl_op.hpp"
#include "common/keel_dnnl.hpp"
#include "conv_layer.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;
namespace cl = conv_layer;

enum class PoolKind { max, avg };

// The window's geometry along one axis (rows or columns).
struct PoolAxis {
  std::int64_t kernel = 1, stride = 1, dilation = 1, lo = 0, hi = 0;

  std::int64_t extent() const { return dilation * (kernel - 1) + 1; }

  // The number of windows over `in` cells; less than 1 when the window does
  // not fit the padded input.
  Dim out(Dim in, bool ceil_mode) const {
    const Dim span = in + lo + hi - extent();
    if (span < 0) return 0;
    if (!ceil_mode) return span / stride + 1;
    Dim n = (span + stride - 1) / stride + 1;
    if ((n - 1) * stride >= in + lo) --n;  // it would start in the padding
    return n;
  }

  // The bottom/right padding that makes oneDNN's floor arithmetic give
  // `out` windows: `hi`, or more in ceil mode.
  std::int64_t onednn_hi(Dim in, Dim out) const {
    return std::max(hi, (out - 1) * stride + extent() - in - lo);
  }

  // Per window, kernel / (its cells inside the padded input): 1 but where
  // ceil mode reaches past the padding. Dilation is 1 (avg).
  std::vector<float> include_pad_scales(Dim in, Dim out) const {
    std::vector<float> scale(static_cast<std::size_t>(out), 1.0f);
    for (Dim o = 0; o < out; ++o) {
      const Dim start = o * stride - lo;
      const Dim cells = std::min(start + kernel, in + hi) - start;
      scale[static_cast<std::size_t>(o)] = float(kernel) / float(cells);
    }
    return scale;
  }
};

class Pool2dOp final : public du::DnnlOp {
 public:
  Pool2dOp(PoolKind kind, const Attrs& attrs)
      : DnnlOp(kind == PoolKind::max ? "max_pool2d" : "avg_pool2d"), kind_(kind) {
    attr_status_ = read(attrs);
  }

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(attr_status_);
    KEEL_RETURN_IF_ERROR(du::expect_f32(name(), "x", ctx.inputs[0]));
    const Shape& x = ctx.inputs[0].shape;
    if (x.size() != 4) return fail(name(), ": x must be [N, C, H, W], got ", shape_str(x));
    if (!is_static(x[2]) || !is_static(x[3]))
      return fail(name(), ": x is ", shape_str(x), ": height and width must be fixed sizes");
    if (x[2] < 1 || x[3] < 1)
      return fail(name(), ": x is ", shape_str(x), ": height and width must be at least 1");
    const Dim ho = rows_.out(x[2], ceil_mode_), wo = cols_.out(x[3], ceil_mode_);
    if (ho < 1 || wo < 1)
      return fail(name(), ": a ", window_str(), " does not fit the ", x[2], "x", x[3], " input padded by ",
                  padding_.str());
    ctx.outputs = {TensorSpec{DType::f32, {x[0], x[1], ho, wo}}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    if (empty_) return Status::Ok();
    KEEL_RETURN_IF_ERROR(run("forward", [&](dnnl::stream& s) {
      std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, du::bind(x_mem_, ctx.inputs[0].data)},
                                                 {DNNL_ARG_DST, du::bind(y_mem_, ctx.outputs[0].data)}};
      if (workspace_) args[DNNL_ARG_WORKSPACE] = workspace_;
      forward_.execute(s, args);
    }));
    if (rescaled_) rescale(ctx.outputs[0].as<float>(), ctx.outputs[0].as<float>());
    return Status::Ok();
  }

  Status backward(const BackwardContext& ctx) override {
    const TensorView& gx = ctx.grad_inputs[0];
    if (empty_ || gx.data == nullptr) return Status::Ok();
    const void* gy = ctx.grad_outputs[0].data;
    if (rescaled_) {
      rescale(ctx.grad_outputs[0].as<float>(), scratch_.data());
      gy = scratch_.data();
    }
    return run("backward", [&](dnnl::stream& s) {
      std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DIFF_DST, du::bind(gy_mem_, gy)},
                                                 {DNNL_ARG_DIFF_SRC, du::bind(gx_mem_, gx.data)}};
      if (workspace_) args[DNNL_ARG_WORKSPACE] = workspace_;
      backward_.execute(s, args);
    });
  }

 private:
  Status read(const Attrs& attrs) {
    KEEL_RETURN_IF_ERROR(cl::read_pair(name(), attrs, "kernel", 1, rows_.kernel, cols_.kernel));
    if (attrs.ints("stride").empty()) {
      rows_.stride = rows_.kernel, cols_.stride = cols_.kernel;
    } else {
      KEEL_RETURN_IF_ERROR(cl::read_pair(name(), attrs, "stride", 1, rows_.stride, cols_.stride));
    }
    KEEL_RETURN_IF_ERROR(cl::read_padding(name(), attrs, "padding", padding_));
    rows_.lo = padding_.top, rows_.hi = padding_.bottom;
    cols_.lo = padding_.left, cols_.hi = padding_.right;
    if (kind_ == PoolKind::max) {
      KEEL_RETURN_IF_ERROR(cl::read_pair(name(), attrs, "dilation", 1, rows_.dilation, cols_.dilation));
    } else {
      count_include_pad_ = attrs.b("count_include_pad");
    }
    ceil_mode_ = attrs.b("ceil_mode");
    // Otherwise a window could hold padding alone: no maximum, no mean.
    if (std::max(rows_.lo, rows_.hi) >= rows_.extent() || std::max(cols_.lo, cols_.hi) >= cols_.extent())
      return fail(name(), ": padding ", padding_.str(), " must be smaller than the ", window_str(),
                  " on every side, so that every window holds a pixel of the image");
    return Status::Ok();
  }

  // "3x3 kernel" or "3x3 kernel with dilation 2x2", as messages name it.
  std::string window_str() const {
    std::string s = std::to_string(rows_.kernel) + "x" + std::to_string(cols_.kernel) + " kernel";
    if (kind_ == PoolKind::max)
      s += " with dilation " + std::to_string(rows_.dilation) + "x" + std::to_string(cols_.dilation);
    return s;
  }

  dnnl::algorithm algorithm() const {
    if (kind_ == PoolKind::max) return dnnl::algorithm::pooling_max;
    return count_include_pad_ ? dnnl::algorithm::pooling_avg_include_padding
                              : dnnl::algorithm::pooling_avg_exclude_padding;
  }

  Status build(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    const Dim ho = rows_.out(x[2], ceil_mode_), wo = cols_.out(x[3], ceil_mode_);
    empty_ = x[0] * x[1] == 0;
    if (empty_) return Status::Ok();

    const dnnl::engine& eng = du::cpu_engine();
    const auto x_md = du::f32_desc({x[0], x[1], x[2], x[3]});
    const auto y_md = du::f32_desc({x[0], x[1], ho, wo});
    const dnnl::memory::dims strides{rows_.stride, cols_.stride}, kernel{rows_.kernel, cols_.kernel};
    const dnnl::memory::dims dilation{rows_.dilation - 1, cols_.dilation - 1};  // oneDNN counts gaps
    const dnnl::memory::dims pad_l{rows_.lo, cols_.lo};
    const dnnl::memory::dims pad_r{rows_.onednn_hi(x[2], ho), cols_.onednn_hi(x[3], wo)};
    const auto prop = ctx.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    const dnnl::pooling_v2_forward::primitive_desc fwd_pd(
        {prop, algorithm(), x_md, y_md, strides, kernel, dilation, pad_l, pad_r}, eng);
    forward_ = dnnl::pooling_v2_forward(fwd_pd);
    x_mem_ = du::unbound_memory(x_md);
    y_mem_ = du::unbound_memory(y_md);
    // Max pooling's backward finds each window's maximum in the workspace
    // its training forward wrote; the step's backward follows that forward.
    if (fwd_pd.workspace_desc().get_size() != 0) workspace_ = dnnl::memory(fwd_pd.workspace_desc(), eng);

    if (kind_ == PoolKind::avg && count_include_pad_) {
      row_scale_ = rows_.include_pad_scales(x[2], ho);
      col_scale_ = cols_.include_pad_scales(x[3], wo);
      auto not_one = [](float v) { return v != 1.0f; };
      rescaled_ = std::any_of(row_scale_.begin(), row_scale_.end(), not_one) ||
                  std::any_of(col_scale_.begin(), col_scale_.end(), not_one);
      planes_ = x[0] * x[1];
    }
    if (!ctx.training) return Status::Ok();
    backward_ = dnnl::pooling_v2_backward(
        {{algorithm(), x_md, y_md, strides, kernel, dilation, pad_l, pad_r}, eng, fwd_pd});
    gx_mem_ = du::unbound_memory(x_md);
    gy_mem_ = du::unbound_memory(y_md);
    if (rescaled_) scratch_.assign(static_cast<std::size_t>(planes_ * ho * wo), 0.0f);
    return Status::Ok();
  }

  // out[p, i, j] = in[p, i, j] * row_scale_[i] * col_scale_[j] for every
  // plane p; `out` may be `in`.
  void rescale(const float* in, float* out) const {
    const std::size_t ho = row_scale_.size(), wo = col_scale_.size();
    for (std::int64_t p = 0; p < planes_; ++p)
      for (std::size_t i = 0; i < ho; ++i) {
        const std::size_t row = (static_cast<std::size_t>(p) * ho + i) * wo;
        for (std::size_t j = 0; j < wo; ++j) out[row + j] = in[row + j] * (row_scale_[i] * col_scale_[j]);
      }
  }

  PoolKind kind_;
  Status attr_status_;
  PoolAxis rows_, cols_;
  cl::Padding padding_;
  bool ceil_mode_ = false, count_include_pad_ = true;

  bool empty_ = false;     // no planes: nothing to run
  bool rescaled_ = false;  // avg with count_include_pad and windows past the padding
  std::int64_t planes_ = 0;
  std::vector<float> row_scale_, col_scale_, scratch_;
  dnnl::pooling_v2_forward forward_;
  dnnl::pooling_v2_backward backward_;
  dnnl::memory x_mem_, y_mem_, gx_mem_, gy_mem_, workspace_;
};

std::vector<AttrSpec> pool_attrs(PoolKind kind) {
  std::vector<AttrSpec> a = {
      cl::kernel_attr(),
      AttrSpec{
          .name = "stride",
          .type = AttrType::Ints,
          .doc = "step between windows [height, width], or [s] for both; empty (the default): the kernel",
          .default_value = AttrValue{std::vector<std::int64_t>{}},
          .min = 1.0,
          .max = double(cl::max_window)},
      cl::padding_attr(
          kind == PoolKind::max
              ? "cells added around the image, never the maximum: [p], [height, width] for both sides, or "
                "[top, left, bottom, right]; each smaller than the dilated kernel"
              : "cells added around the image: [p], [height, width] for both sides, or [top, left, bottom, "
                "right]; each smaller than the kernel"),
      AttrSpec{.name = "ceil_mode",
               .type = AttrType::Bool,
               .doc = "round the output size up, keeping a partial last window unless it would start in the "
                      "padding",
               .default_value = AttrValue{false}},
  };
  if (kind == PoolKind::max) {
    a.push_back(
        cl::pair_attr("dilation", "spacing between kernel taps [height, width], or [d] for both", 1, 1.0));
  } else {
    a.push_back(AttrSpec{.name = "count_include_pad",
                         .type = AttrType::Bool,
                         .doc = "divide by the window's cells inside the padded image (torch's AvgPool2d "
                                "default, ONNX's count_include_pad=1), not only inside the image; cells "
                                "ceil_mode adds never count",
                         .default_value = AttrValue{true}});
  }
  return a;
}

}  // namespace

OpSchema max_pool2d_schema() {
  OpSchema s = plugin_util::schema(
      "max_pool2d",
      "2-D max pooling over NCHW images, as torch's max_pool2d (per-side padding as ONNX's MaxPool).",
      {{"x", "f32 [N, C, H, W]; H and W must be fixed sizes"}},
      {{"y",
        "f32 [N, C, Ho, Wo], Ho = floor((H + top + bottom - dilation*(kernel-1) - 1) / stride) + 1 (ceil "
        "with ceil_mode), likewise Wo; each the maximum of its window's image cells"}});
  s.attrs = pool_attrs(PoolKind::max);
  s.has_backward = true;
  s.examples = {
      {.attrs = {{"kernel", std::vector<std::int64_t>{2}}}, .inputs = {{{DType::f32, {kBatch, 2, 4, 5}}}}},
      {.doc = "overlapping, dilated, asymmetric padding, ceil mode",
       .attrs = {{"kernel", std::vector<std::int64_t>{3, 2}},
                 {"stride", std::vector<std::int64_t>{2, 1}},
                 {"padding", std::vector<std::int64_t>{1, 0, 0, 1}},
                 {"dilation", std::vector<std::int64_t>{1, 2}},
                 {"ceil_mode", true}},
       .inputs = {{{DType::f32, {kBatch, 2, 6, 7}}}}},
      {.doc = "a kernel larger than the padded image",
       .attrs = {{"kernel", std::vector<std::int64_t>{4}}},
       .inputs = {{{DType::f32, {kBatch, 1, 3, 3}}}},
       .rejects = "does not fit"}};
  return s;
}

std::unique_ptr<Op> max_pool2d_factory(const Attrs& attrs) {
  return std::make_unique<Pool2dOp>(PoolKind::max, attrs);
}

OpSchema avg_pool2d_schema() {
  OpSchema s = plugin_util::schema(
      "avg_pool2d",
      "2-D average pooling over NCHW images, as torch's avg_pool2d (per-side padding as ONNX's AveragePool).",
      {{"x", "f32 [N, C, H, W]; H and W must be fixed sizes"}},
      {{"y",
        "f32 [N, C, Ho, Wo], Ho = floor((H + top + bottom - kernel) / stride) + 1 (ceil with ceil_mode), "
        "likewise Wo; each the mean of its window"}});
  s.attrs = pool_attrs(PoolKind::avg);
  s.has_backward = true;
  s.examples = {
      {.attrs = {{"kernel", std::vector<std::int64_t>{2}}}, .inputs = {{{DType::f32, {kBatch, 2, 4, 5}}}}},
      {.doc = "padding counted, ceil mode: the last windows reach past the padding",
       .attrs = {{"kernel", std::vector<std::int64_t>{3}},
                 {"stride", std::vector<std::int64_t>{2}},
                 {"padding", std::vector<std::int64_t>{1}},
                 {"ceil_mode", true}},
       .inputs = {{{DType::f32, {kBatch, 2, 6, 6}}}}},
      {.doc = "asymmetric padding not counted",
       .attrs = {{"kernel", std::vector<std::int64_t>{2, 3}},
                 {"padding", std::vector<std::int64_t>{0, 2, 1, 0}},
                 {"count_include_pad", false}},
       .inputs = {{{DType::f32, {kBatch, 1, 5, 4}}}}},
      {.doc = "padding as large as the kernel",
       .attrs = {{"kernel", std::vector<std::int64_t>{2}}, {"padding", std::vector<std::int64_t>{2}}},
       .inputs = {{{DType::f32, {kBatch, 1, 3, 3}}}},
       .rejects = "must be smaller than"}};
  return s;
}

std::unique_ptr<Op> avg_pool2d_factory(const Attrs& attrs) {
  return std::make_unique<Pool2dOp>(PoolKind::avg, attrs);
}

}  // namespace keel::nn
