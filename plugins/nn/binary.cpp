// add and mul: elementwise binary ops with NumPy broadcasting.
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

enum class Kind { add, mul };

// oneDNN's binary broadcasts only its second source, so forward picks which
// input goes first; when both broadcast, `a` is expanded into y first and
// `b` is then applied in place.
enum class Feed { a_first, b_first, expand_a };

// Backward for one input: grad = sum over the axes the input was broadcast
// along of grad_y (add) or grad_y * other (mul).
struct InputGrad {
  bool full = false;  // the input has the result's shape: nothing to sum
  dnnl::binary times_other;
  dnnl::reduction reduce;
  dnnl::memory mem;
};

class BinaryOp final : public du::DnnlOp {
 public:
  explicit BinaryOp(Kind kind) : DnnlOp(kind == Kind::add ? "add" : "mul"), kind_(kind) {}

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
        if (kind_ == Kind::add) {
          if (g.full)
            std::memcpy(out.data, gy, out.nbytes());
          else
            g.reduce.execute(s, {{DNNL_ARG_SRC, gy_mem_}, {DNNL_ARG_DST, du::bind(g.mem, out.data)}});
          continue;
        }
        const dnnl::memory& other = du::bind(i == 0 ? b_mem_ : a_mem_, ctx.inputs[1 - i].data);
        const dnnl::memory& product =
            g.full ? du::bind(g.mem, out.data) : du::bind(scratch_mem_, scratch_.data());
        g.times_other.execute(s,
                              {{DNNL_ARG_SRC_0, gy_mem_}, {DNNL_ARG_SRC_1, other}, {DNNL_ARG_DST, product}});
        if (!g.full)
          g.reduce.execute(s, {{DNNL_ARG_SRC, scratch_mem_}, {DNNL_ARG_DST, du::bind(g.mem, out.data)}});
      }
    });
  }

 private:
  dnnl::algorithm algorithm() const {
    return kind_ == Kind::add ? dnnl::algorithm::binary_add : dnnl::algorithm::binary_mul;
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
    feed_ = a_dims_ == y_dims_ ? Feed::a_first : b_dims_ == y_dims_ ? Feed::b_first : Feed::expand_a;
    const auto& src0_md = feed_ == Feed::a_first ? a_md : feed_ == Feed::b_first ? b_md : y_md;
    const auto& src1_md = feed_ == Feed::b_first ? a_md : b_md;
    forward_ = dnnl::binary({{algorithm(), src0_md, src1_md, y_md}, eng});
    a_mem_ = du::unbound_memory(a_md);
    b_mem_ = du::unbound_memory(b_md);
    y_mem_ = du::unbound_memory(y_md);
    if (!ctx.training) return Status::Ok();

    gy_mem_ = du::unbound_memory(y_md);
    grads_[0] = plan_grad(a_dims_, a_md, b_md, y_md);
    grads_[1] = plan_grad(b_dims_, b_md, a_md, y_md);
    if (kind_ == Kind::mul && (!grads_[0].full || !grads_[1].full)) {
      scratch_.assign(static_cast<std::size_t>(numel(y_dims_)), 0.0f);
      scratch_mem_ = du::unbound_memory(y_md);
    }
    return Status::Ok();
  }

  InputGrad plan_grad(const Dims& dims, const dnnl::memory::desc& md, const dnnl::memory::desc& other_md,
                      const dnnl::memory::desc& y_md) {
    const dnnl::engine& eng = du::cpu_engine();
    InputGrad g;
    g.full = dims == y_dims_;
    g.mem = du::unbound_memory(md);
    if (kind_ == Kind::mul)
      g.times_other = dnnl::binary({{dnnl::algorithm::binary_mul, y_md, other_md, y_md}, eng});
    if (!g.full) g.reduce = dnnl::reduction({{dnnl::algorithm::reduction_sum, y_md, md, 0.0f, 0.0f}, eng});
    return g;
  }

  Kind kind_;
  bool empty_ = false;
  Feed feed_ = Feed::a_first;
  Dims a_dims_, b_dims_, y_dims_;
  dnnl::binary forward_;
  dnnl::memory a_mem_, b_mem_, y_mem_, gy_mem_, scratch_mem_;
  std::array<InputGrad, 2> grads_;
  std::vector<float> scratch_;  // grad_y * other before it is summed; mul only
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

OpSchema mul_schema() {
  return binary_schema("mul", "Elementwise product y = a * b, with NumPy broadcasting.");
}
std::unique_ptr<Op> mul_factory(const Attrs&) { return std::make_unique<BinaryOp>(Kind::mul); }

}  // namespace keel::nn
