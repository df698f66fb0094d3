// layernorm: normalization over the last axis of x, one mean and variance
// per row, as torch.nn.functional.layer_norm with normalized_shape = [D].
// No running state: training and inference compute the same thing.
#include <cmath>
#include <unordered_map>
#include <vector>

#include "batchnorm_ops.hpp"
#include "common/dnnl_op.hpp"
#include "common/keel_dnnl.hpp"
#include "common/keel_parallel.hpp"
#include "norm_schema.hpp"

namespace keel::norm {
namespace {

namespace du = keel::dnnl_util;
using flags = dnnl::normalization_flags;

enum Param : std::size_t { gamma = 0, beta = 1 };

class LayerNormOp final : public du::DnnlOp {
 public:
  LayerNormOp(double epsilon, bool affine) : DnnlOp("layernorm"), epsilon_(epsilon), affine_(affine) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32("layernorm", "x", ctx.inputs[0]));
    if (!(epsilon_ > 0.0 && std::isfinite(epsilon_)))
      return fail("layernorm: epsilon must be a finite number > 0, got ", epsilon_);
    const Shape& x = ctx.inputs[0].shape;
    if (x.empty()) return fail("layernorm: x must have rank 1 or more, got a scalar");
    // The parameters' shape comes from D, so it cannot wait for data.
    if (!is_static(x.back()) || x.back() < 1)
      return fail("layernorm: the last axis of x must have a known size of at least 1, got ", shape_str(x));
    ctx.outputs = {ctx.inputs[0]};
    ctx.param_shapes.assign(2, Shape{x.back()});
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    if (rows_ == 0) return Status::Ok();  // x and y have no elements
    return run("forward", [&](dnnl::stream& s) {
      std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, du::bind(x_, ctx.inputs[0].data)},
                                                 {DNNL_ARG_DST, du::bind(y_, ctx.outputs[0].data)}};
      add_affine(args, ctx.params[gamma].data, ctx.params[beta].data);
      if (ctx.training) {
        // The row statistics are kept for backward.
        args.insert({{DNNL_ARG_MEAN, mean_}, {DNNL_ARG_VARIANCE, var_}});
        train_.execute(s, args);
      } else {
        infer_.execute(s, args);
      }
    });
  }

  Status backward(const BackwardContext& ctx) override {
    void* dgamma = ctx.grad_params[gamma].data;
    void* dbeta = ctx.grad_params[beta].data;
    if (rows_ == 0 || !affine_) {
      // Unused parameters (or empty sums) have zero gradient.
      du::zero_fill(ctx.grad_params[gamma]);
      du::zero_fill(ctx.grad_params[beta]);
      if (rows_ == 0) return Status::Ok();
    }
    parallel::OneThread one;  // see build()
    return run("backward", [&](dnnl::stream& s) {
      void* gx = ctx.grad_inputs[0].data;
      std::unordered_map<int, dnnl::memory> args{
          {DNNL_ARG_SRC, du::bind(x_, ctx.inputs[0].data)},
          {DNNL_ARG_DIFF_DST, du::bind(y_, ctx.grad_outputs[0].data)},
          {DNNL_ARG_MEAN, mean_},
          {DNNL_ARG_VARIANCE, var_},
          {DNNL_ARG_DIFF_SRC, du::bind(gx_, gx != nullptr ? gx : static_cast<void*>(discard_.data()))}};
      if (affine_) {
        // oneDNN 2.6 wants the shift here too, although nothing depends on it.
        add_affine(args, ctx.params[gamma].data, ctx.params[beta].data);
        args.insert({{DNNL_ARG_DIFF_SCALE, du::bind(dgamma_, dgamma ? dgamma : dparam_discard_.data())},
                     {DNNL_ARG_DIFF_SHIFT, du::bind(dbeta_, dbeta ? dbeta : dparam_discard_.data())}});
      }
      backward_.execute(s, args);
    });
  }

 private:
  Status build(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    const std::int64_t cols = x.back();
    rows_ = cols == 0 ? 0 : numel(x) / cols;
    if (rows_ == 0) return Status::Ok();

    // Leading axes fold into rows: plain [rows, D] memory. oneDNN runs it as
    // `simple_layer_normalization:any`, which JITs its row kernels: forward
    // training on [4096, 1024] takes ~0.5 ms with 2 threads, memory speed.
    const dnnl::engine& eng = du::cpu_engine();
    const auto md = du::f32_desc({rows_, cols});
    const float eps = static_cast<float>(epsilon_);
    const auto affine = affine_ ? flags::use_scale | flags::use_shift : flags::none;
    x_ = du::unbound_memory(md);
    y_ = du::unbound_memory(md);
    scale_ = du::unbound_memory(du::f32_desc({cols}));
    shift_ = du::unbound_memory(du::f32_desc({cols}));
    infer_ = dnnl::layer_normalization_forward({{dnnl::prop_kind::forward_inference, md, eps, affine}, eng});
    if (!ctx.training) return Status::Ok();

    const dnnl::layer_normalization_forward::primitive_desc train_pd(
        {dnnl::prop_kind::forward_training, md, eps, affine}, eng);
    train_ = dnnl::layer_normalization_forward(train_pd);
    const auto prop = affine_ ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data;
    {
      // oneDNN adds the weight gradients' per-thread partial sums over rows,
      // so the backward pass is made and run on one thread: the same bits
      // for any thread count.
      parallel::OneThread one;
      backward_ = dnnl::layer_normalization_backward({{prop, md, md, eps, affine}, eng, train_pd});
    }
    mean_buf_.assign(train_pd.mean_desc().get_size() / sizeof(float) + 1, 0.0f);
    var_buf_.assign(train_pd.variance_desc().get_size() / sizeof(float) + 1, 0.0f);
    mean_ = dnnl::memory(train_pd.mean_desc(), eng, mean_buf_.data());
    var_ = dnnl::memory(train_pd.variance_desc(), eng, var_buf_.data());
    gx_ = du::unbound_memory(md);
    dgamma_ = du::unbound_memory(du::f32_desc({cols}));
    dbeta_ = du::unbound_memory(du::f32_desc({cols}));
    discard_.assign(static_cast<std::size_t>(rows_ * cols), 0.0f);
    dparam_discard_.assign(static_cast<std::size_t>(cols), 0.0f);
    return Status::Ok();
  }

  void add_affine(std::unordered_map<int, dnnl::memory>& args, const void* g, const void* b) const {
    if (!affine_) return;
    args.insert({{DNNL_ARG_SCALE, du::bind(scale_, g)}, {DNNL_ARG_SHIFT, du::bind(shift_, b)}});
  }

  double epsilon_;
  bool affine_;
  std::int64_t rows_ = 0;
  dnnl::layer_normalization_forward infer_, train_;
  dnnl::layer_normalization_backward backward_;
  dnnl::memory x_, y_, scale_, shift_, mean_, var_, gx_, dgamma_, dbeta_;
  std::vector<float> mean_buf_, var_buf_, discard_, dparam_discard_;
};

}  // namespace

OpSchema layernorm_schema() {
  OpSchema s = plugin_util::schema(
      "layernorm", "Layer normalization over the last axis, as torch.nn.functional.layer_norm.",
      {{"x", "f32 [..., D]; D must have a known size"}},
      {{"y", "gamma * (x - mean) / sqrt(var + epsilon) + beta per row of D values, same shape as x"}});
  s.attrs = {AttrSpec{.name = "elementwise_affine",
                      .type = AttrType::Bool,
                      .doc = "scale by gamma and shift by beta; when false both stay unused and their "
                             "gradients are zero",
                      .default_value = AttrValue{true}},
             epsilon_attr()};
  s.params = affine_params("[D] per-feature");
  s.has_backward = true;
  return s;
}

std::unique_ptr<Op> layernorm_factory(const Attrs& attrs) {
  // An out-of-range epsilon is reported by infer, not thrown here.
  const double epsilon = attrs.f("epsilon");
  const bool affine = attrs.b("elementwise_affine");
  return std::make_unique<LayerNormOp>(epsilon, affine);
}

}  // namespace keel::norm
