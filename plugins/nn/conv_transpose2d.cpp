// conv_transpose2d: the transpose (gradient) of conv2d as a layer, PyTorch's
// ConvTranspose2d: each input pixel scatters a weighted kernel-sized patch
// into an output grown by the stride. Dilation and groups are not offered.
#include "conv_layer.hpp"
#include "deconv2d.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;
namespace cl = conv_layer;

// (in-1)*stride - lo - hi + k + out_pad, or false when it overflows a Dim
// (an input size no real image has).
bool output_size(Dim in, std::int64_t stride, std::int64_t lo, std::int64_t hi, std::int64_t k,
                 std::int64_t out_pad, Dim& out) {
  Dim grown = 0;
  if (__builtin_mul_overflow(in - 1, stride, &grown)) return false;
  return !__builtin_add_overflow(grown, k + out_pad - lo - hi, &out);
}

class ConvTranspose2dOp final : public cl::LayerOp<du::Deconv2d> {
 public:
  explicit ConvTranspose2dOp(const Attrs& attrs) : LayerOp("conv_transpose2d") { attr_status_ = read(attrs); }

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(check_input(ctx));
    const Shape& x = ctx.inputs[0].shape;
    const cl::CommonAttrs& a = attrs_;
    Dim ho = 0, wo = 0;
    if (!output_size(x[2], a.sh, a.pad.top, a.pad.bottom, a.kh, oph_, ho) ||
        !output_size(x[3], a.sw, a.pad.left, a.pad.right, a.kw, opw_, wo))
      return fail("conv_transpose2d: x is ", shape_str(x), ": the output size overflows");
    if (ho < 1 || wo < 1)
      return fail("conv_transpose2d: padding ", a.pad.str(), " crops away the whole output of the ", x[2],
                  "x", x[3], " input with a ", a.kh, "x", a.kw, " kernel and stride ", a.sh, "x", a.sw,
                  " (output ", ho, "x", wo, ")");
    ctx.outputs = {TensorSpec{DType::f32, {x[0], a.filters, ho, wo}}};
    ctx.param_shapes = {{x[1], a.filters, a.kh, a.kw}, {a.filters}};
    return Status::Ok();
  }

 private:
  Status build(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    du::Deconv2dGeometry g;
    attrs_.fill(g, x);
    g.out_pad_h = oph_, g.out_pad_w = opw_;
    g.pad_b_delta = attrs_.pad.bottom - attrs_.pad.top;
    g.pad_r_delta = attrs_.pad.right - attrs_.pad.left;
    return prepare_kernel(g, ctx.training);
  }

  Status read(const Attrs& attrs) {
    KEEL_RETURN_IF_ERROR(attrs_.read("conv_transpose2d", attrs));
    KEEL_RETURN_IF_ERROR(cl::read_pair("conv_transpose2d", attrs, "output_padding", 0, oph_, opw_));
    // PyTorch's rule: a larger output padding would add rows no input reaches.
    if (oph_ >= attrs_.sh || opw_ >= attrs_.sw)
      return fail("conv_transpose2d: output_padding ", oph_, "x", opw_, " must be smaller than stride ",
                  attrs_.sh, "x", attrs_.sw, " in each dimension");
    return Status::Ok();
  }

  std::int64_t oph_ = 0, opw_ = 0;
};

}  // namespace

OpSchema conv_transpose2d_schema() {
  OpSchema s = plugin_util::schema(
      "conv_transpose2d",
      "2-D transposed convolution over NCHW images (PyTorch's ConvTranspose2d): each input pixel adds "
      "weight-scaled kernel patches to an output grown by the stride; y = conv_transpose(x, weight) + bias.",
      {{"x", "f32 [N, C, H, W]; C, H and W must be fixed sizes"}},
      {{"y",
        "f32 [N, filters, Ho, Wo], Ho = (H - 1)*stride - top - bottom + kernel + output_padding (top = "
        "bottom = padding unless it has 4 values), likewise Wo; at least 1"}});
  s.attrs = {
      cl::filters_attr(),
      cl::kernel_attr(),
      cl::pair_attr("stride",
                    "spacing of the input pixels' patches in the output [height, width], or [s] for both", 1,
                    1.0),
      cl::padding_attr("rows and columns cropped from each side of the full output [height, width], or [p] "
                       "for both, or [top, left, bottom, right] per side (ONNX's pads); the padding of the "
                       "conv2d this transposes"),
      cl::pair_attr(
          "output_padding",
          "rows added at the bottom and columns at the right [height, width], or [p] for both, each "
          "smaller than the stride: a strided conv2d maps several input sizes to one output size, and this "
          "picks which of them to produce",
          0, 0.0),
      cl::bias_attr(),
  };
  s.params = {{"weight",
               "[C, filters, kh, kw], PyTorch's ConvTranspose2d layout; he_uniform: U(±sqrt(6/fan_in)) with "
               "fan_in = filters*kh*kw, the fan PyTorch computes for this layout (its default draws from the "
               "narrower U(±1/sqrt(fan_in)))",
               Init::HeUniform, true},
              cl::bias_param()};
  s.has_backward = true;
  s.examples = {{.attrs = {{"filters", std::int64_t{3}}, {"kernel", std::vector<std::int64_t>{3}}},
                 .inputs = {{{DType::f32, {kBatch, 2, 4, 4}}}}},
                {.doc = "DCGAN-style doubling: stride 2, padding 1, 4x4 kernel, no bias",
                 .attrs = {{"filters", std::int64_t{2}},
                           {"kernel", std::vector<std::int64_t>{4}},
                           {"stride", std::vector<std::int64_t>{2}},
                           {"padding", std::vector<std::int64_t>{1}},
                           {"bias", false}},
                 .inputs = {{{DType::f32, {kBatch, 3, 3, 2}}}}},
                {.doc = "rectangular kernel, output padding",
                 .attrs = {{"filters", std::int64_t{2}},
                           {"kernel", std::vector<std::int64_t>{3, 2}},
                           {"stride", std::vector<std::int64_t>{2, 3}},
                           {"padding", std::vector<std::int64_t>{1, 0}},
                           {"output_padding", std::vector<std::int64_t>{1, 2}}},
                 .inputs = {{{DType::f32, {kBatch, 2, 3, 3}}}}},
                {.doc = "per-side padding [top, left, bottom, right], output padding",
                 .attrs = {{"filters", std::int64_t{2}},
                           {"kernel", std::vector<std::int64_t>{3}},
                           {"stride", std::vector<std::int64_t>{2}},
                           {"padding", std::vector<std::int64_t>{1, 0, 0, 2}},
                           {"output_padding", std::vector<std::int64_t>{1}}},
                 .inputs = {{{DType::f32, {kBatch, 2, 3, 3}}}}},
                {.doc = "output padding as large as the stride",
                 .attrs = {{"filters", std::int64_t{2}},
                           {"kernel", std::vector<std::int64_t>{3}},
                           {"stride", std::vector<std::int64_t>{2}},
                           {"output_padding", std::vector<std::int64_t>{2}}},
                 .inputs = {{{DType::f32, {kBatch, 2, 3, 3}}}},
                 .rejects = "must be smaller than stride"}};
  return s;
}

std::unique_ptr<Op> conv_transpose2d_factory(const Attrs& attrs) {
  return std::make_unique<ConvTranspose2dOp>(attrs);
}

}  // namespace keel::nn
