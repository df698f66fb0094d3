// batchnorm: per-channel normalization of [N, C] or [N, C, H, W] with batch
// statistics while training and running statistics at inference, exactly as
// PyTorch's BatchNorm1d/BatchNorm2d (momentum, biased batch variance for
// normalizing, unbiased for the running estimate). In a data-parallel run
// with `sync` (or train.distributed.sync_batchnorm) the statistics are the
// global batch's, as PyTorch's SyncBatchNorm computes them.
//
// Training runs on Keel's own fixed-order kernels (batch_statistics.hpp), so
// its statistics and gradients are the same for any thread count; inference
// (per element, no sums) runs on oneDNN.
#include <cmath>
#include <vector>

#include "batch_statistics.hpp"
#include "batchnorm_layout.hpp"
#include "batchnorm_ops.hpp"
#include "common/dnnl_op.hpp"
#include "norm_schema.hpp"

namespace keel::norm {
namespace {

namespace du = keel::dnnl_util;
using flags = dnnl::normalization_flags;

enum Param : std::size_t { gamma = 0, beta = 1, running_mean = 2, running_var = 3 };

class BatchNormOp final : public du::DnnlOp {
 public:
  BatchNormOp(double momentum, double epsilon, bool sync)
      : DnnlOp("batchnorm"), momentum_(momentum), epsilon_(epsilon), sync_(sync) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32("batchnorm", "x", ctx.inputs[0]));
    if (!(momentum_ >= 0.0 && momentum_ <= 1.0))
      return fail("batchnorm: momentum must be in [0, 1], got ", momentum_);
    if (!(epsilon_ > 0.0 && std::isfinite(epsilon_)))
      return fail("batchnorm: epsilon must be a finite number > 0, got ", epsilon_);
    const Shape& x = ctx.inputs[0].shape;
    if (x.size() != 2 && x.size() != 4)
      return fail("batchnorm: x must be [N, C] or [N, C, H, W], got ", shape_str(x));
    // The parameters' shape comes from C, so it cannot wait for data.
    if (!is_static(x[1]) || x[1] < 1)
      return fail("batchnorm: the channel axis (axis 1) of x must have a known size of at least 1, got ",
                  shape_str(x));
    ctx.outputs = {ctx.inputs[0]};
    ctx.param_shapes.assign(4, Shape{x[1]});
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    synced_ = ctx.training && ctx.collective && ctx.collective->ranks() > 1 &&
              (sync_ || ctx.collective->sync_batch_statistics());
    // Every rank holds at least one row, so each takes part in the sums.
    if (synced_ && per_channel_ == 0) return fail("batchnorm: a rank's share of the batch is empty");
    if (ctx.training && !synced_ && per_channel_ == 1)
      return fail("batchnorm: training needs more than one value per channel, got x ",
                  shape_str(ctx.inputs[0].shape));
    if (per_channel_ == 0) return Status::Ok();  // x and y have no elements
    if (ctx.training) return train(ctx);
    return in_onednn("forward", [&] { return infer_step(ctx); });
  }

  Status backward(const BackwardContext& ctx) override {
    // Running statistics are state, not weights: they have no gradient.
    du::zero_fill(ctx.grad_params[running_mean]);
    du::zero_fill(ctx.grad_params[running_var]);
    if (per_channel_ == 0) {
      du::zero_fill(ctx.grad_params[gamma]);
      du::zero_fill(ctx.grad_params[beta]);
      return Status::Ok();
    }
    return stats_.backward(ranks(ctx.collective), dims(), ctx.inputs[0].as<float>(),
                           ctx.grad_outputs[0].as<float>(), ctx.params[gamma].as<float>(),
                           ctx.grad_inputs[0].as<float>(), ctx.grad_params[gamma].as<float>(),
                           ctx.grad_params[beta].as<float>());
  }

 private:
  Status build(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    const dnnl::memory::dims nchw{x[0], x[1], x.size() == 4 ? x[2] : 1, x.size() == 4 ? x[3] : 1};
    per_channel_ = nchw[0] * nchw[2] * nchw[3];
    dims_ = {nchw[0], nchw[1], nchw[2] * nchw[3]};
    if (per_channel_ == 0) return Status::Ok();

    const dnnl::engine& eng = du::cpu_engine();
    layout_.build(nchw);
    const auto channel_md = du::f32_desc({nchw[1]});
    scale_ = du::unbound_memory(channel_md);
    shift_ = du::unbound_memory(channel_md);
    running_mean_ = du::unbound_memory(channel_md);
    running_var_ = du::unbound_memory(channel_md);
    infer_ = dnnl::batch_normalization_forward(
        {{dnnl::prop_kind::forward_inference, layout_.kernel_desc(), static_cast<float>(epsilon_),
          flags::use_scale | flags::use_shift | flags::use_global_stats},
         eng});
    return Status::Ok();
  }

  // The batch's statistics (the global batch's when synced), then the
  // running estimates from them.
  Status train(const ForwardContext& ctx) {
    KEEL_RETURN_IF_ERROR(stats_.forward(ranks(ctx.collective), dims(), epsilon_, ctx.inputs[0].as<float>(),
                                        ctx.params[gamma].as<float>(), ctx.params[beta].as<float>(),
                                        ctx.outputs[0].as<float>()));
    update_running(
        ctx, stats_.count(), [&](std::size_t c) { return stats_.mean()[c]; },
        [&](std::size_t c) { return stats_.variance()[c]; });
    return Status::Ok();
  }

  const Collective* ranks(const Collective* collective) const { return synced_ ? collective : nullptr; }

  // running = (1 - momentum) * running + momentum * batch, with the batch's
  // unbiased variance (`count` values per channel).
  template <typename Mean, typename Var>
  void update_running(const ForwardContext& ctx, double count, Mean mean, Var biased_var) const {
    const float m = static_cast<float>(momentum_);
    const double unbias = count / (count - 1);
    float* rm = ctx.params[running_mean].as<float>();
    float* rv = ctx.params[running_var].as<float>();
    for (std::size_t c = 0; c < std::size_t(dims_.channels); ++c) {
      rm[c] = (1.0f - m) * rm[c] + m * static_cast<float>(mean(c));
      rv[c] = (1.0f - m) * rv[c] + m * static_cast<float>(biased_var(c) * unbias);
    }
  }

  const BnDims& dims() const { return dims_; }

  Status infer_step(const ForwardContext& ctx) {
    dnnl::stream& s = du::thread_stream();
    const dnnl::memory& src = layout_.stage_work(s, ctx.inputs[0].data);
    infer_.execute(s, {{DNNL_ARG_SRC, src},
                       {DNNL_ARG_DST, layout_.result(ctx.outputs[0].data)},
                       {DNNL_ARG_MEAN, du::bind(running_mean_, ctx.params[running_mean].data)},
                       {DNNL_ARG_VARIANCE, du::bind(running_var_, ctx.params[running_var].data)},
                       {DNNL_ARG_SCALE, du::bind(scale_, ctx.params[gamma].data)},
                       {DNNL_ARG_SHIFT, du::bind(shift_, ctx.params[beta].data)}});
    layout_.unstage_result(s, ctx.outputs[0].data);
    s.wait();
    return Status::Ok();
  }

  double momentum_;
  double epsilon_;
  bool sync_;                     // the node asked for global batch statistics
  bool synced_ = false;           // the last forward used them, so backward must too
  std::int64_t per_channel_ = 0;  // values per channel: N * H * W
  BnDims dims_{};
  BatchStatistics stats_;
  BnLayout layout_;  // inference only
  dnnl::batch_normalization_forward infer_;
  dnnl::memory scale_, shift_, running_mean_, running_var_;
};

}  // namespace

OpSchema batchnorm_schema() {
  OpSchema s = plugin_util::schema(
      "batchnorm", "Batch normalization per channel (axis 1), as PyTorch's BatchNorm1d/BatchNorm2d.",
      {{"x", "f32 [N, C] or [N, C, H, W]; C must have a known size"}},
      {{"y", "gamma * (x - mean) / sqrt(var + epsilon) + beta, same shape as x"}});
  s.attrs = {AttrSpec{.name = "momentum",
                      .type = AttrType::Float,
                      .doc = "weight of the batch statistic in each running-statistic update: "
                             "running = (1 - momentum) * running + momentum * batch",
                      .default_value = AttrValue{0.1},
                      .min = 0.0,
                      .max = 1.0},
             epsilon_attr(),
             AttrSpec{.name = "sync",
                      .type = AttrType::Bool,
                      .doc = "in a data-parallel run (mpirun), normalize with the statistics of the global "
                             "batch, summed across ranks, instead of each rank's share; no effect on one "
                             "process. train.distributed.sync_batchnorm sets it for every batchnorm",
                      .default_value = AttrValue{false}}};
  s.params = affine_params("[C] per-channel");
  s.params.insert(
      s.params.end(),
      {ParamSpec{.name = "running_mean",
                 .doc = "[C] running mean, used at inference; updated by each training forward",
                 .init = Init::Zeros,
                 .trainable = false},
       ParamSpec{.name = "running_var",
                 .doc = "[C] running unbiased variance, used at inference; updated by each training forward",
                 .init = Init::Ones,
                 .trainable = false}});
  s.has_backward = true;
  s.batch_statistics = true;
  return s;
}

std::unique_ptr<Op> batchnorm_factory(const Attrs& attrs) {
  // Out-of-range values are reported by infer, not thrown here.
  const double momentum = attrs.f("momentum");
  const double epsilon = attrs.f("epsilon");
  return std::make_unique<BatchNormOp>(momentum, epsilon, attrs.b("sync"));
}

}  // namespace keel::norm
