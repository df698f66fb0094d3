// matmul: y = a · b for a [..., M, K] with b [K, N] shared by every leading
// index, or b [..., K, N] with the same leading (batch) dimensions as a.
#include <algorithm>

#include "common/dnnl_op.hpp"
#include "common/keel_dnnl.hpp"
#include "common/split_matmul.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

std::string dim_str(Dim d) { return is_static(d) ? std::to_string(d) : std::string("?"); }

std::int64_t product(Shape::const_iterator first, Shape::const_iterator last) {
  std::int64_t n = 1;
  for (; first != last; ++first) n *= *first;
  return n;
}

class MatmulOp final : public du::DnnlOp {
 public:
  MatmulOp() : DnnlOp("matmul", Threads::by_op) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32("matmul", "a", ctx.inputs[0]));
    KEEL_RETURN_IF_ERROR(du::expect_f32("matmul", "b", ctx.inputs[1]));
    const Shape& a = ctx.inputs[0].shape;
    const Shape& b = ctx.inputs[1].shape;
    if (a.size() < 2) return fail("matmul: a must have rank 2 or more, got ", shape_str(a));
    if (b.size() < 2) return fail("matmul: b must have rank 2 or more, got ", shape_str(b));
    const Dim ka = a.back();
    const Dim kb = b[b.size() - 2];
    if (ka != kb)
      return fail("matmul: a is ", shape_str(a), " and b is ", shape_str(b), ": inner dimensions ",
                  dim_str(ka), " and ", dim_str(kb), " differ");
    if (b.size() > 2 && (b.size() != a.size() || !std::equal(a.begin(), a.end() - 2, b.begin())))
      return fail("matmul: a is ", shape_str(a), " and b is ", shape_str(b),
                  ": b must be [K, N] or have the same batch dimensions as a");
    Shape y(a.begin(), a.end() - 1);
    y.push_back(b.back());
    ctx.outputs = {TensorSpec{DType::f32, std::move(y)}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    if (empty_) {
      // K == 0 makes every sum empty: y is all zeros (or has no elements).
      du::zero_fill(ctx.outputs[0]);
      return Status::Ok();
    }
    return in_onednn("forward", [&] {
      forward_.execute(ctx.inputs[0].data, ctx.inputs[1].data, ctx.outputs[0].data);
      return Status::Ok();
    });
  }

  Status backward(const BackwardContext& ctx) override {
    const TensorView& ga = ctx.grad_inputs[0];
    const TensorView& gb = ctx.grad_inputs[1];
    if (empty_) {
      du::zero_fill(ga);
      du::zero_fill(gb);
      return Status::Ok();
    }
    const void* gy = ctx.grad_outputs[0].data;
    return in_onednn("backward", [&] {
      if (ga.data != nullptr) grad_a_.execute(gy, ctx.inputs[1].data, ga.data);  // grad_y · bᵀ
      if (gb.data != nullptr) grad_b_.execute(ctx.inputs[0].data, gy, gb.data);  // aᵀ · grad_y
      return Status::Ok();
    });
  }

 private:
  Status build(const PrepareContext& ctx) override {
    const Shape& a = ctx.inputs[0].shape;
    const Shape& b = ctx.inputs[1].shape;
    // Every case runs as a batch of B products [M, K] · [K, N] over
    // contiguous memory. A shared b folds a's leading dimensions into M.
    const bool shared_b = b.size() == 2;
    const std::int64_t K = a.back();
    const std::int64_t N = b.back();
    const std::int64_t B = shared_b ? 1 : product(a.begin(), a.end() - 2);
    const std::int64_t M = shared_b ? product(a.begin(), a.end() - 1) : a[a.size() - 2];
    empty_ = B == 0 || M == 0 || N == 0 || K == 0;
    if (empty_) return Status::Ok();

    // Products of thread-count independent blocks (common/split_matmul.hpp);
    // a shared b has batch stride 0.
    const std::int64_t b_batch = shared_b ? 0 : K * N;
    forward_.build({M, K, K, 1, M * K}, {K, N, N, 1, b_batch}, {}, B);
    if (!ctx.training) return Status::Ok();
    // The transposes are views of a's and b's own buffers: swapped strides.
    grad_a_.build({M, N, N, 1, M * N}, {N, K, 1, N, b_batch}, {}, B);
    grad_b_.build({K, M, 1, K, M * K}, {M, N, N, 1, M * N}, {}, B);
    return Status::Ok();
  }

  bool empty_ = false;
  du::SplitMatmul forward_, grad_a_, grad_b_;
};

}  // namespace

OpSchema matmul_schema() {
  OpSchema s = plugin_util::schema(
      "matmul", "Matrix product y = a · b over the last two axes, batched over the leading ones.",
      {{"a", "f32 [..., M, K]"},
       {"b",
        "f32 [K, N] shared by every leading index of a, or [..., K, N] with a's "
        "leading dimensions"}},
      {{"y", "f32 [..., M, N]"}});
  s.has_backward = true;
  s.examples = {
      {.doc = "shared b", .inputs = {{{DType::f32, {kBatch, 4}}}, {{DType::f32, {4, 3}}}}},
      {.doc = "batched", .inputs = {{{DType::f32, {kBatch, 2, 4}}}, {{DType::f32, {kBatch, 4, 3}}}}}};
  return s;
}

std::unique_ptr<Op> matmul_factory(const Attrs&) { return std::make_unique<MatmulOp>(); }

}  // namespace keel::nn
