// transpose: y = x.permute(perm), ONNX's Transpose. One oneDNN reorder each
// way: x read through strides permuted into y's axis order and written out
// plainly (forward), and grad_y written back through the same permuted
// strides into grad_x (backward, the inverse permutation). oneDNN's reorder
// takes any strides up to its maximum rank, so no index arithmetic is
// written here.
#include <cstring>
#include <string>
#include <vector>

#include "common/dnnl_op.hpp"
#include "common/keel_dnnl.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

std::string ints_str(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

class TransposeOp final : public du::DnnlOp {
 public:
  explicit TransposeOp(std::vector<std::int64_t> perm) : DnnlOp("transpose"), perm_(std::move(perm)) {}

  Status infer(InferContext& ctx) const override {
    KEEL_RETURN_IF_ERROR(du::expect_f32("transpose", "x", ctx.inputs[0]));
    const Shape& x = ctx.inputs[0].shape;
    std::vector<std::int64_t> perm;
    KEEL_RETURN_IF_ERROR(resolve(x, perm));
    Shape y(x.size());
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = x[static_cast<std::size_t>(perm[i])];
    ctx.outputs = {TensorSpec{DType::f32, std::move(y)}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    return move("forward", forward_, x_mem_, ctx.inputs[0].data, y_mem_, ctx.outputs[0].data);
  }

  Status backward(const BackwardContext& ctx) override {
    if (ctx.grad_inputs[0].data == nullptr) return Status::Ok();
    return move("backward", backward_, y_mem_, ctx.grad_outputs[0].data, x_mem_, ctx.grad_inputs[0].data);
  }

 private:
  // perm_, or the reversed axes when it is empty, checked against x's rank.
  Status resolve(const Shape& x, std::vector<std::int64_t>& perm) const {
    const auto rank = static_cast<std::int64_t>(x.size());
    if (rank > du::max_rank)
      return fail("transpose: x ", shape_str(x), " has rank ", rank, "; at most ", du::max_rank,
                  " is supported");
    if (perm_.empty()) {
      for (std::int64_t i = rank; i-- > 0;) perm.push_back(i);
      return Status::Ok();
    }
    if (static_cast<std::int64_t>(perm_.size()) != rank)
      return fail("transpose: perm ", ints_str(perm_), " has ", perm_.size(), " axes; x ", shape_str(x),
                  " has ", rank);
    std::vector<bool> seen(perm_.size(), false);
    for (std::int64_t p : perm_) {
      if (p < 0 || p >= rank || seen[static_cast<std::size_t>(p)])
        return fail("transpose: perm ", ints_str(perm_), " is not a permutation of the axes 0 to ", rank - 1,
                    " of x ", shape_str(x));
      seen[static_cast<std::size_t>(p)] = true;
    }
    perm = perm_;
    return Status::Ok();
  }

  Status build(const PrepareContext& ctx) override {
    const Shape& x = ctx.inputs[0].shape;
    std::vector<std::int64_t> perm;
    KEEL_RETURN_IF_ERROR(resolve(x, perm));
    bytes_ = static_cast<std::size_t>(numel(x)) * sizeof(float);
    identity_ = true;
    for (std::size_t i = 0; i < perm.size(); ++i) identity_ = identity_ && perm[i] == std::int64_t(i);
    if (identity_ || bytes_ == 0) return Status::Ok();

    // x's strides, taken in y's axis order: x viewed with y's dims.
    const dnnl::memory::dims x_strides = du::c_order_strides(du::to_dims(x));
    dnnl::memory::dims y_dims(perm.size()), x_seen_as_y(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) {
      y_dims[i] = x[static_cast<std::size_t>(perm[i])];
      x_seen_as_y[i] = x_strides[static_cast<std::size_t>(perm[i])];
    }
    const dnnl::memory::desc x_md = du::f32_desc(y_dims, x_seen_as_y);
    const dnnl::memory::desc y_md = du::f32_desc(y_dims);
    const dnnl::engine& eng = du::cpu_engine();
    forward_ = dnnl::reorder(dnnl::reorder::primitive_desc(eng, x_md, eng, y_md));
    if (ctx.training) backward_ = dnnl::reorder(dnnl::reorder::primitive_desc(eng, y_md, eng, x_md));
    x_mem_ = du::unbound_memory(x_md);
    y_mem_ = du::unbound_memory(y_md);
    return Status::Ok();
  }

  // Forward reads x and writes y; backward reads grad_y and writes grad_x.
  Status move(const char* phase, const dnnl::reorder& r, const dnnl::memory& src_mem, const void* src,
              const dnnl::memory& dst_mem, void* dst) {
    if (bytes_ == 0) return Status::Ok();
    if (identity_) {
      std::memcpy(dst, src, bytes_);
      return Status::Ok();
    }
    return run_src_dst(phase, r, src_mem, src, dst_mem, dst);
  }

  std::vector<std::int64_t> perm_;
  std::size_t bytes_ = 0;
  bool identity_ = true;  // nothing moves: rank 0 or 1, or perm [0, 1, ...]
  dnnl::reorder forward_, backward_;
  dnnl::memory x_mem_, y_mem_;
};

}  // namespace

OpSchema transpose_schema() {
  OpSchema s = plugin_util::schema(
      "transpose", "Permutes the axes: y = x.permute(perm), as ONNX's Transpose and torch's permute.",
      {{"x", "f32 tensor of rank 0 to 12"}},
      {{"y", "f32 of x's shape permuted: y.shape[i] = x.shape[perm[i]]"}});
  s.attrs = {AttrSpec{.name = "perm",
                      .type = AttrType::Ints,
                      .doc = "y's axis i is x's axis perm[i]: a permutation of 0 to rank-1. Empty (the "
                             "default) reverses the axes, as ONNX's Transpose without perm",
                      .default_value = AttrValue{std::vector<std::int64_t>{}},
                      .min = 0.0,
                      .max = double(du::max_rank - 1)}};
  s.has_backward = true;
  s.examples = {{.doc = "the batch moved last",
                 .attrs = {{"perm", std::vector<std::int64_t>{1, 2, 0}}},
                 .inputs = {{{DType::f32, {kBatch, 2, 3}}}}},
                {.doc = "default: axes reversed", .inputs = {{{DType::f32, {kBatch, 3, 1, 2}}}}},
                {.doc = "an axis twice",
                 .attrs = {{"perm", std::vector<std::int64_t>{0, 0}}},
                 .inputs = {{{DType::f32, {kBatch, 2}}}},
                 .rejects = "is not a permutation"}};
  return s;
}

std::unique_ptr<Op> transpose_factory(const Attrs& attrs) {
  return std::make_unique<TransposeOp>(attrs.ints("perm"));
}

}  // namespace keel::nn
