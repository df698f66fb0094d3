// residual: y = P(skip) + gain * branch, the skip connection of a residual
// network. P is the identity when skip already has branch's shape, else a
// learned projection: a linear map for [N, in] -> [N, out], a 1x1
// convolution for [N, Cin, H, W] -> [N, Cout, H, W].
//
// Schemas declare parameters statically, so both are always there; the ones
// a node does not use get zero elements (proj_weight [0, 0], gain [0]):
// nothing to store, initialize, checkpoint or optimize.
#include <cstring>

#include "common/dnnl_op.hpp"
#include "common/keel_conv.hpp"
#include "common/keel_parallel.hpp"
#include "common/split_matmul.hpp"
#include "residual_ops.hpp"

namespace keel::residual {
namespace {

namespace du = keel::dnnl_util;

enum class Projection { none, linear, conv };

class ResidualOp final : public du::DnnlOp {
 public:
  explicit ResidualOp(const Attrs& attrs)
      : DnnlOp("residual", Threads::by_op),
        allow_projection_(attrs.s("projection") == "auto"),
        learned_gain_(attrs.s("gain") == "learned"),
        gain_init_(static_cast<float>(attrs.f("gain_init"))) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32("residual", "branch", ctx.inputs[0]));
    KEEL_RETURN_IF_ERROR(du::expect_f32("residual", "skip", ctx.inputs[1]));
    Projection kind = Projection::none;
    KEEL_RETURN_IF_ERROR(projection_of(ctx.inputs[0].shape, ctx.inputs[1].shape, kind));
    const Shape& b = ctx.inputs[0].shape;
    const Shape& s = ctx.inputs[1].shape;
    ctx.outputs = {TensorSpec{DType::f32, b}};
    Shape proj{0, 0};
    if (kind == Projection::linear) proj = {b[1], s[1]};
    if (kind == Projection::conv) proj = {b[1], s[1], 1, 1};
    ctx.param_shapes = {proj, {learned_gain_ ? 1 : 0}};
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    if (size_ == 0) return Status::Ok();
    const float g = gain(ctx.params[1].as<float>());
    const float* branch = ctx.inputs[0].as<float>();
    const float* skip = ctx.inputs[1].as<float>();
    float* y = ctx.outputs[0].as<float>();
    if (kind_ == Projection::none) {
      parallel::for_chunks(size_, 3 * sizeof(float), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) y[i] = skip[i] + g * branch[i];
      });
      return Status::Ok();
    }
    // With unit gain a linear projection adds the branch inside the matmul
    // (a binary post-op): one pass over y instead of two.
    const bool fused = kind_ == Projection::linear && g == 1.0f;
    KEEL_RETURN_IF_ERROR(in_onednn("forward", [&] {
      if (fused) {
        forward_fused_.execute(skip, ctx.params[0].data, y, nullptr, branch);
      } else {
        project(skip, ctx.params[0].as<float>(), y);
      }
      return Status::Ok();
    }));
    if (!fused)
      for (std::int64_t i = 0; i < size_; ++i) y[i] += g * branch[i];
    return Status::Ok();
  }

  Status backward(const BackwardContext& ctx) override {
    const TensorView& g_branch = ctx.grad_inputs[0];
    const TensorView& g_skip = ctx.grad_inputs[1];
    const TensorView& g_proj = ctx.grad_params[0];
    const TensorView& g_gain = ctx.grad_params[1];
    const float* gy = ctx.grad_outputs[0].as<float>();
    const float* branch = ctx.inputs[0].as<float>();
    const float g = gain(ctx.params[1].as<float>());
    if (g_branch.data != nullptr) {
      float* out = g_branch.as<float>();
      parallel::for_chunks(size_, 2 * sizeof(float), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) out[i] = g * gy[i];
      });
    }
    if (learned_gain_ && g_gain.data != nullptr) {
      // d(gain_init + param)/d(param) = 1; summed in double over the batch.
      double sum = 0.0;
      for (std::int64_t i = 0; i < size_; ++i) sum += double(gy[i]) * double(branch[i]);
      g_gain.as<float>()[0] = static_cast<float>(sum);
    }
    if (kind_ == Projection::none) {
      if (g_skip.data != nullptr && size_ != 0) std::memcpy(g_skip.data, gy, g_skip.nbytes());
      return Status::Ok();
    }
    if (size_ == 0 || skip_size_ == 0) {  // an empty batch moves no weight
      du::zero_fill(g_proj);
      du::zero_fill(g_skip);
      return Status::Ok();
    }
    const float* w = ctx.params[0].as<float>();
    const float* skip = ctx.inputs[1].as<float>();
    if (kind_ == Projection::conv)
      return in_onednn("backward", [&] {
        if (g_skip.data != nullptr) conv_.backward_data(gy, w, g_skip.as<float>());
        if (g_proj.data != nullptr) conv_.backward_weights(skip, gy, g_proj.as<float>(), nullptr);
        return Status::Ok();
      });
    return in_onednn("backward", [&] {
      // grad_skip [N, in] = grad_y [N, out] · W [out, in]
      if (g_skip.data != nullptr) grad_skip_.execute(gy, w, g_skip.data);
      // grad_W [out, in] = grad_yᵀ [out, N] · skip [N, in]
      if (g_proj.data != nullptr) grad_w_.execute(gy, skip, g_proj.data);
      return Status::Ok();
    });
  }

 private:
  Status projection_of(const Shape& b, const Shape& s, Projection& kind) const {
    kind = Projection::none;
    if (b == s) return Status::Ok();
    if (!allow_projection_)
      return fail("residual: branch is ", shape_str(b), " and skip is ", shape_str(s),
                  ": shapes differ and projection is none");
    const bool channels_static = b.size() >= 2 && s.size() >= 2 && is_static(b[1]) && is_static(s[1]);
    if (b.size() == 2 && s.size() == 2 && b[0] == s[0] && channels_static) {
      kind = Projection::linear;
      return Status::Ok();
    }
    if (b.size() == 4 && s.size() == 4 && b[0] == s[0] && b[2] == s[2] && b[3] == s[3] && channels_static &&
        is_static(b[2]) && is_static(b[3])) {
      kind = Projection::conv;
      return Status::Ok();
    }
    return fail(
        "residual: branch is ", shape_str(b), " and skip is ", shape_str(s),
        ": a projection maps [N, in] to [N, out] or [N, Cin, H, W] to [N, Cout, H, W] with the same N "
        "(and H, W) and fixed feature/channel counts");
  }

  float gain(const float* param) const { return learned_gain_ ? gain_init_ + param[0] : 1.0f; }

  Status build(const PrepareContext& ctx) override {
    const Shape& b = ctx.inputs[0].shape;
    const Shape& s = ctx.inputs[1].shape;
    KEEL_RETURN_IF_ERROR(projection_of(b, s, kind_));
    size_ = numel(b);
    skip_size_ = numel(s);
    if (kind_ == Projection::none || size_ == 0 || skip_size_ == 0) return Status::Ok();
    if (kind_ == Projection::conv) {
      du::Conv2dGeometry g;
      g.n = b[0], g.c_in = s[1], g.h = s[2], g.w = s[3], g.c_out = b[1], g.kh = 1, g.kw = 1, g.bias = false;
      conv_.prepare(g, ctx.training);
      return Status::Ok();
    }
    const std::int64_t n = b[0], out = b[1], in = s[1];
    // Wᵀ and grad_yᵀ are views of W [out, in] and grad_y [N, out].
    forward_.build({n, in, in, 1}, {in, out, 1, in});
    forward_fused_.build({n, in, in, 1}, {in, out, 1, in}, {.add = true});
    if (!ctx.training) return Status::Ok();
    grad_skip_.build({n, out, out, 1}, {out, in, in, 1});
    grad_w_.build({out, n, 1, out}, {n, in, in, 1});
    return Status::Ok();
  }

  void project(const float* skip, const float* w, float* y) {
    if (kind_ == Projection::conv) {
      conv_.forward(skip, w, nullptr, y);
      return;
    }
    forward_.execute(skip, w, y);
  }

  bool allow_projection_, learned_gain_;
  float gain_init_;
  Projection kind_ = Projection::none;
  std::int64_t size_ = 0, skip_size_ = 0;
  du::Conv2d conv_;
  // Thread-count independent products (common/split_matmul.hpp).
  du::SplitMatmul forward_, forward_fused_, grad_skip_, grad_w_;
};

}  // namespace

OpSchema residual_schema() {
  OpSchema s = plugin_util::schema(
      "residual",
      "Skip connection y = skip + gain * branch, projecting skip to branch's shape when they differ.",
      {{"branch", "f32, the residual branch F(x); its shape is the output's"},
       {"skip", "f32, the block's input x: branch's shape, or [N, in] / [N, Cin, H, W] to project"}},
      {{"y", "f32, branch's shape"}});
  s.attrs = {
      {"projection",
       AttrType::String,
       "auto: project skip when its shape differs from branch's (linear for rank 2, 1x1 convolution for "
       "NCHW); "
       "none: the shapes must be equal",
       AttrValue(std::string("auto")),
       std::nullopt,
       std::nullopt,
       {"auto", "none"}},
      {"gain",
       AttrType::String,
       "none: gain is 1; learned: gain = gain_init + the learned scalar parameter",
       AttrValue(std::string("none")),
       std::nullopt,
       std::nullopt,
       {"none", "learned"}},
      {"gain_init",
       AttrType::Float,
       "starting gain when gain is learned (0 starts the block as the identity, as in ReZero)",
       AttrValue(0.0),
       std::nullopt,
       std::nullopt,
       {}},
  };
  s.params = {
      {"proj_weight",
       "[out, in] (linear) or [Cout, Cin, 1, 1] (1x1 convolution) when skip is projected, He-uniform "
       "initialized; [0, 0] (no values) when it is not",
       Init::HeUniform, true},
      {"gain",
       "[1] when gain is learned: an offset from gain_init, zero initialized; [0] (no values) otherwise",
       Init::Zeros, true}};
  s.has_backward = true;
  s.examples = {{.doc = "same shapes", .inputs = {{{DType::f32, {kBatch, 4}}}, {{DType::f32, {kBatch, 4}}}}},
                {.doc = "linear projection, learned gain",
                 .attrs = {{"gain", std::string("learned")}, {"gain_init", 0.5}},
                 .inputs = {{{DType::f32, {kBatch, 3}}}, {{DType::f32, {kBatch, 4}}}}},
                {.doc = "1x1 convolution projection",
                 .inputs = {{{DType::f32, {kBatch, 3, 2, 2}}}, {{DType::f32, {kBatch, 2, 2, 2}}}}}};
  return s;
}

std::unique_ptr<Op> residual_factory(const Attrs& attrs) { return std::make_unique<ResidualOp>(attrs); }

}  // namespace keel::residual
