// add, sub, mul and div: elementwise binary ops with NumPy broadcasting.
#include <array>
#include <cstring>

#include "broadcast.hpp"
#include "common/dnnl_op.hpp"
#include "common/keel_dnnl.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;
using Dims = dnnl::memory::dims;

enum class Kind { add, sub, mul, div };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::add:
      return "add";
    case Kind::sub:
      return "sub";
    case Kind::mul:
      return "mul";
    case Kind::div:
      return "div";
  }
  return "?";
}

bool commutes(Kind k) { return k == Kind::add || k == Kind::mul; }

// oneDNN's binary broadcasts only its second source, so forward picks which
// input goes first (add and mul only: they commute); otherwise, when `a`
// broadcasts, `a` is expanded into y first and `b` is then applied in place.
enum class Feed { a_first, b_first, expand_a };

// A tensor a backward step combines the running gradient with.
enum class Operand { a, b, y };

// One binary of the chain from grad_y to an input's elementwise gradient:
// running = running (op) operand.
struct GradStep {
  dnnl::binary op;
  Operand with;
};

// Backward for one input: its elementwise gradient, made from grad_y by
// `steps` (none: grad_y itself), summed over the axes the input was
// broadcast along, then negated when `negate`:
//   add  a: gy            b: gy
//   sub  a: gy            b: -gy
//   mul  a: gy * b        b: gy * a
//   div  a: gy / b        b: -(gy * y) / b   (= -gy * a / b^2, y = a / b)
struct InputGrad {
  bool full = false;  // the input has the result's shape: nothing to sum
  bool negate = false;
  std::vector<GradStep> steps;
  dnnl::reduction reduce;
  dnnl::eltwise_forward negative;  // in place on the input's gradient
  dnnl::memory mem;
};

class BinaryOp final : public du::DnnlOp {
 public:
  explicit BinaryOp(Kind kind) : DnnlOp(kind_name(kind)), kind_(kind) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32(name(), "a", ctx.inputs[0]));
    KEEL_RETURN_IF_ERROR(du::expect_f32(name(), "b", ctx.inputs[1]));
    Shape out;
    KEEL_RETURN_IF_ERROR(broadcast_shapes(name(), ctx.inputs[0].shape, ctx.inputs[1].shape, out));
    if (out.size() > static_cast<std::size_t>(du::max_rank))
      return fail(name(), ": the result has rank ", out.size(), "; at most ", du::max_rank, " is supported");
    ctx.outputs = {TensorSpec{DType::f32, std::move(out)}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    if (empty_) return Status::Ok();
    return run("forward", [&](dnnl::stream& s) {
      const void* a = ctx.inputs[0].data;
      const void* b = ctx.inputs[1].data;
      void* y = ctx.outputs[0].data;
      switch (feed_) {
        case Feed::a_first:
          run_forward(s, du::bind(a_mem_, a), du::bind(b_mem_, b), y);
          break;
        case Feed::b_first:
          run_forward(s, du::bind(b_mem_, b), du::bind(a_mem_, a), y);
          break;
        case Feed::expand_a:
          broadcast_copy(static_cast<const float*>(a), a_dims_, y_dims_, static_cast<float*>(y));
          run_forward(s, du::bind(y_mem_, y), du::bind(b_mem_, b), y);
          break;
      }
    });
  }

  Status backward(const BackwardContext& ctx) override {
    if (empty_) {
      for (const TensorView& g : ctx.grad_inputs) du::zero_fill(g);
      return Status::Ok();
    }
    return run("backward", [&](dnnl::stream& s) {
      const void* gy = ctx.grad_outputs[0].data;
      du::bind(gy_mem_, gy);
      for (std::size_t i = 0; i < 2; ++i) {
        const TensorView& out = ctx.grad_inputs[i];
        if (out.data == nullptr) continue;
        InputGrad& g = grads_[i];
        const dnnl::memory& result = du::bind(g.mem, out.data);
        if (g.steps.empty()) {
          if (g.full)
            std::memcpy(out.data, gy, out.nbytes());
          else
            g.reduce.execute(s, {{DNNL_ARG_SRC, gy_mem_}, {DNNL_ARG_DST, result}});
        } else {
          const dnnl::memory& running = g.full ? result : du::bind(scratch_mem_, scratch_.data());
          const dnnl::memory* src = &gy_mem_;
          for (const GradStep& step : g.steps) {
            step.op.execute(
                s,
                {{DNNL_ARG_SRC_0, *src}, {DNNL_ARG_SRC_1, operand(step.with, ctx)}, {DNNL_ARG_DST, running}});
            src = &running;
          }
          if (!g.full) g.reduce.execute(s, {{DNNL_ARG_SRC, scratch_mem_}, {DNNL_ARG_DST, result}});
        }
        if (g.negate) g.negative.execute(s, {{DNNL_ARG_SRC, result}, {DNNL_ARG_DST, result}});
      }
    });
  }

 private:
  dnnl::algorithm algorithm() const {
    switch (kind_) {
      case Kind::add:
        return dnnl::algorithm::binary_add;
      case Kind::sub:
        return dnnl::algorithm::binary_sub;
      case Kind::mul:
        return dnnl::algorithm::binary_mul;
      case Kind::div:
        break;
    }
    return dnnl::algorithm::binary_div;
  }

  // The memory a backward step reads, bound to this step's data.
  const dnnl::memory& operand(Operand with, const BackwardContext& ctx) const {
    switch (with) {
      case Operand::a:
        return du::bind(a_mem_, ctx.inputs[0].data);
      case Operand::b:
        return du::bind(b_mem_, ctx.inputs[1].data);
      case Operand::y:
        break;
    }
    return du::bind(y_mem_, ctx.outputs[0].data);
  }

  void run_forward(dnnl::stream& s, const dnnl::memory& src0, const dnnl::memory& src1, void* y) {
    forward_.execute(s,
                     {{DNNL_ARG_SRC_0, src0}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, du::bind(y_mem_, y)}});
  }

  Status build(const PrepareContext& ctx) override {
    Shape out;
    KEEL_RETURN_IF_ERROR(broadcast_shapes(name(), ctx.inputs[0].shape, ctx.inputs[1].shape, out));
    const std::size_t rank = std::max<std::size_t>(1, out.size());
    a_dims_ = pad_left(ctx.inputs[0].shape, rank);
    b_dims_ = pad_left(ctx.inputs[1].shape, rank);
    y_dims_ = pad_left(out, rank);
    empty_ = numel(y_dims_) == 0;
    if (empty_) return Status::Ok();

    const dnnl::engine& eng = du::cpu_engine();
    const auto a_md = du::f32_desc(a_dims_);
    const auto b_md = du::f32_desc(b_dims_);
    const auto y_md = du::f32_desc(y_dims_);
    feed_ = a_dims_ == y_dims_                      ? Feed::a_first
            : b_dims_ == y_dims_ && commutes(kind_) ? Feed::b_first
                                                    : Feed::expand_a;
    const auto& src0_md = feed_ == Feed::a_first ? a_md : feed_ == Feed::b_first ? b_md : y_md;
    const auto& src1_md = feed_ == Feed::b_first ? a_md : b_md;
    forward_ = dnnl::binary({{algorithm(), src0_md, src1_md, y_md}, eng});
    a_mem_ = du::unbound_memory(a_md);
    b_mem_ = du::unbound_memory(b_md);
    y_mem_ = du::unbound_memory(y_md);
    if (!ctx.training) return Status::Ok();

    gy_mem_ = du::unbound_memory(y_md);
    grads_[0] = plan_grad(0, a_dims_, a_md, a_md, b_md, y_md);
    grads_[1] = plan_grad(1, b_dims_, b_md, a_md, b_md, y_md);
    if ((!grads_[0].full && !grads_[0].steps.empty()) || (!grads_[1].full && !grads_[1].steps.empty())) {
      scratch_.assign(static_cast<std::size_t>(numel(y_dims_)), 0.0f);
      scratch_mem_ = du::unbound_memory(y_md);
    }
    return Status::Ok();
  }

  // The gradient of input `which` (0: a, 1: b) of dims `dims` and layout `md`.
  InputGrad plan_grad(int which, const Dims& dims, const dnnl::memory::desc& md,
                      const dnnl::memory::desc& a_md, const dnnl::memory::desc& b_md,
                      const dnnl::memory::desc& y_md) {
    const dnnl::engine& eng = du::cpu_engine();
    InputGrad g;
    g.full = dims == y_dims_;
    g.mem = du::unbound_memory(md);
    auto step = [&](dnnl::algorithm alg, Operand with) {
      const dnnl::memory::desc& with_md = with == Operand::a ? a_md : with == Operand::b ? b_md : y_md;
      g.steps.push_back({dnnl::binary({{alg, y_md, with_md, y_md}, eng}), with});
    };
    using alg = dnnl::algorithm;
    switch (kind_) {
      case Kind::add:
        break;
      case Kind::sub:
        g.negate = which == 1;
        break;
      case Kind::mul:
        step(alg::binary_mul, which == 0 ? Operand::b : Operand::a);
        break;
      case Kind::div:
        if (which == 1) {
          step(alg::binary_mul, Operand::y);
          g.negate = true;
        }
        step(alg::binary_div, Operand::b);
        break;
    }
    if (!g.full) g.reduce = dnnl::reduction({{alg::reduction_sum, y_md, md, 0.0f, 0.0f}, eng});
    if (g.negate)
      g.negative = dnnl::eltwise_forward(
          {{dnnl::prop_kind::forward_inference, alg::eltwise_linear, md, -1.0f, 0.0f}, eng});
    return g;
  }

  Kind kind_;
  bool empty_ = false;
  Feed feed_ = Feed::a_first;
  Dims a_dims_, b_dims_, y_dims_;
  dnnl::binary forward_;
  dnnl::memory a_mem_, b_mem_, y_mem_, gy_mem_, scratch_mem_;
  std::array<InputGrad, 2> grads_;
  std::vector<float> scratch_;  // an elementwise gradient before it is summed
};

OpSchema binary_schema(const char* name, const char* doc) {
  OpSchema s = plugin_util::schema(
      name, doc, {{"a", "f32 tensor"}, {"b", "f32 tensor, broadcast against a as in NumPy"}},
      {{"y", "f32 tensor of the broadcast shape of a and b"}});
  s.has_backward = true;
  return s;
}

}  // namespace

OpSchema add_schema() { return binary_schema("add", "Elementwise sum y = a + b, with NumPy broadcasting."); }
std::unique_ptr<Op> add_factory(const Attrs&) { return std::make_unique<BinaryOp>(Kind::add); }

OpSchema sub_schema() {
  OpSchema s = binary_schema("sub", "Elementwise difference y = a - b, with NumPy broadcasting.");
  s.examples = {
      {.doc = "b broadcast along the batch", .inputs = {{{DType::f32, {kBatch, 4}}}, {{DType::f32, {4}}}}}};
  return s;
}
std::unique_ptr<Op> sub_factory(const Attrs&) { return std::make_unique<BinaryOp>(Kind::sub); }

OpSchema mul_schema() {
  return binary_schema("mul", "Elementwise product y = a * b, with NumPy broadcasting.");
}
std::unique_ptr<Op> mul_factory(const Attrs&) { return std::make_unique<BinaryOp>(Kind::mul); }

OpSchema div_schema() {
  OpSchema s = binary_schema(
      "div", "Elementwise quotient y = a / b, with NumPy broadcasting (IEEE: x / 0 is inf or nan).");
  // Divisors away from zero, where finite differences of a / b are smooth.
  s.examples = {{.doc = "b broadcast along the batch",
                 .inputs = {{{DType::f32, {kBatch, 4}}}, {{DType::f32, {4}}, 0.5, 2.0}}},
                {.doc = "a broadcast against b",
                 .inputs = {{{DType::f32, {3, 1}}}, {{DType::f32, {kBatch, 1, 4}}, -2.0, -0.5}}}};
  return s;
}
std::unique_ptr<Op> div_factory(const Attrs&) { return std::make_unique<BinaryOp>(Kind::div); }

}  // namespace keel::nn
