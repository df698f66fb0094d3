// concat and split: joining two tensors along one axis, and cutting one
// into two equal halves, as torch.cat([a, b], dim) and torch.chunk(x, 2,
// dim). A GAN runs its discriminator once on concat(real, fake) and splits
// the logits back into the two halves.
//
// Tensors are contiguous and C ordered, so along any axis the data is
// `outer` blocks (the product of the sizes before the axis), each holding a
// run of a's block then a run of b's: both ops are strided memcpy, and each
// one's backward is the other's forward on the gradients.
//
// Along the axis, sizes may be named dimensions: a GAN joins two batches
// of `batch` rows. The result, 2 x batch, has no name in the graph, so
// these two ops write a multiple of a named dimension as a symbol of its
// own (Multiple below): the same multiple of the same name is always the
// same symbol, so split(concat(x, y)) gives back batch itself and later ops
// compare sizes as usual. Any other sum (batch + 4, batch + seq) or half of
// an odd multiple has no such name and is refused by `keel validate`.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "common/keel_dnnl.hpp"
#include "layer_shape.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;

// Where one axis cuts a shape: `outer` blocks, each of `inner` elements
// per unit of the axis.
struct Cut {
  std::int64_t outer = 1;
  std::int64_t inner = 1;
};

Cut cut_at(const Shape& s, std::size_t axis) {
  Cut c;
  for (std::size_t d = 0; d < axis; ++d) c.outer *= s[d];
  for (std::size_t d = axis + 1; d < s.size(); ++d) c.inner *= s[d];
  return c;
}

// A symbolic size read as `times` x graph symbol `symbol`. Graph symbols
// are numbered from 0 (keel/tensor.hpp); symbol indices from kStride up
// stand for their multiples, which no graph has so many names to reach.
// Other ops see such a size as one more symbol, equal only to itself.
struct Multiple {
  std::int64_t symbol = 0;
  std::int64_t times = 1;
};

constexpr std::int64_t kStride = std::int64_t{1} << 24;
constexpr std::int64_t kMaxTimes = std::int64_t{1} << 20;

std::optional<Multiple> multiple_of(Dim d) {
  if (is_static(d)) return std::nullopt;
  const std::int64_t index = -1 - d;
  return Multiple{index % kStride, index / kStride + 1};
}

Dim dim_of(const Multiple& m) { return -1 - (m.symbol + (m.times - 1) * kStride); }

AttrSpec axis_attr(std::string doc) {
  return AttrSpec{.name = "axis",
                  .type = AttrType::Int,
                  .doc = std::move(doc),
                  .default_value = AttrValue{std::int64_t{0}}};
}

// memcpy of n floats; an empty tensor's view may hold a null pointer, which
// memcpy must not see even for n = 0.
void copy_run(const float* from, float* to, std::int64_t n) {
  if (n > 0) std::memcpy(to, from, static_cast<std::size_t>(n) * sizeof(float));
}

// Interleaves the two runs of each block: parts -> whole (concat's forward,
// split's backward). A null part (a gradient nobody asked for) is skipped
// by the caller, never passed here.
void join(const float* a, std::int64_t a_run, const float* b, std::int64_t b_run, std::int64_t outer,
          float* whole) {
  for (std::int64_t o = 0; o < outer; ++o) {
    copy_run(a + o * a_run, whole, a_run);
    whole += a_run;
    copy_run(b + o * b_run, whole, b_run);
    whole += b_run;
  }
}

// whole -> parts (split's forward, concat's backward); a null part is not
// written.
void separate(const float* whole, std::int64_t outer, float* a, std::int64_t a_run, float* b,
              std::int64_t b_run) {
  for (std::int64_t o = 0; o < outer; ++o) {
    if (a != nullptr) copy_run(whole, a + o * a_run, a_run);
    whole += a_run;
    if (b != nullptr) copy_run(whole, b + o * b_run, b_run);
    whole += b_run;
  }
}

class ConcatOp final : public Op {
 public:
  explicit ConcatOp(std::int64_t axis) : axis_(axis) {}

  Status infer(InferContext& ctx) const override {
    Shape y;
    KEEL_RETURN_IF_ERROR(joined(ctx.inputs[0], ctx.inputs[1], y));
    ctx.outputs = {TensorSpec{DType::f32, std::move(y)}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) override {
    std::size_t axis = 0;
    KEEL_RETURN_IF_ERROR(layer::normalize_axis("concat", axis_, ctx.inputs[0].shape.size(), axis));
    const Cut c = cut_at(ctx.inputs[0].shape, axis);
    outer_ = c.outer;
    a_run_ = ctx.inputs[0].shape[axis] * c.inner;
    b_run_ = ctx.inputs[1].shape[axis] * c.inner;
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    join(ctx.inputs[0].as<float>(), a_run_, ctx.inputs[1].as<float>(), b_run_, outer_,
         ctx.outputs[0].as<float>());
    return Status::Ok();
  }

  Status backward(const BackwardContext& ctx) override {
    separate(ctx.grad_outputs[0].as<float>(), outer_, ctx.grad_inputs[0].as<float>(), a_run_,
             ctx.grad_inputs[1].as<float>(), b_run_);
    return Status::Ok();
  }

 private:
  Status joined(const TensorSpec& a, const TensorSpec& b, Shape& y) const {
    KEEL_RETURN_IF_ERROR(du::expect_f32("concat", "a", a));
    KEEL_RETURN_IF_ERROR(du::expect_f32("concat", "b", b));
    if (a.shape.empty()) return fail("concat: a must have rank 1 or more, got a scalar");
    if (a.shape.size() != b.shape.size())
      return fail("concat: a is ", shape_str(a.shape), " and b is ", shape_str(b.shape),
                  "; they must have the same rank");
    std::size_t axis = 0;
    KEEL_RETURN_IF_ERROR(layer::normalize_axis("concat", axis_, a.shape.size(), axis));
    for (std::size_t d = 0; d < a.shape.size(); ++d)
      if (d != axis && a.shape[d] != b.shape[d])
        return fail("concat: a is ", shape_str(a.shape), " and b is ", shape_str(b.shape),
                    "; they must have the same sizes except along axis ", axis, ", and differ at axis ", d);
    y = a.shape;
    if (is_static(a.shape[axis]) && is_static(b.shape[axis])) {
      if (__builtin_add_overflow(a.shape[axis], b.shape[axis], &y[axis]) ||
          !layer::checked_product(y.begin(), y.end()))
        return fail("concat: a ", shape_str(a.shape), " and b ", shape_str(b.shape),
                    " have too many elements");
      return Status::Ok();
    }
    const auto ma = multiple_of(a.shape[axis]), mb = multiple_of(b.shape[axis]);
    if (!ma || !mb || ma->symbol != mb->symbol || ma->times + mb->times > kMaxTimes)
      return fail("concat: a is ", shape_str(a.shape), " and b is ", shape_str(b.shape), "; along axis ",
                  axis,
                  " a named size can only be joined with the same named size (batch and batch), not with a "
                  "fixed or another named size");
    y[axis] = dim_of({ma->symbol, ma->times + mb->times});
    return Status::Ok();
  }

  std::int64_t axis_;
  std::int64_t outer_ = 0;
  std::int64_t a_run_ = 0;
  std::int64_t b_run_ = 0;
};

class SplitOp final : public Op {
 public:
  explicit SplitOp(std::int64_t axis) : axis_(axis) {}

  Status infer(InferContext& ctx) const override {
    const TensorSpec& x = ctx.inputs[0];
    KEEL_RETURN_IF_ERROR(du::expect_f32("split", "x", x));
    if (x.shape.empty()) return fail("split: x must have rank 1 or more, got a scalar");
    std::size_t axis = 0;
    KEEL_RETURN_IF_ERROR(layer::normalize_axis("split", axis_, x.shape.size(), axis));
    const Dim size = x.shape[axis];
    Shape half = x.shape;
    if (const auto m = multiple_of(size)) {
      // A named size is known to halve only as the join of two equal ones.
      if (m->times % 2 != 0)
        return fail("split: x is ", shape_str(x.shape), "; its size along axis ", axis,
                    " is a named dimension, not known to be even: split a fixed size, or one that concat "
                    "joined from two equal named sizes");
      half[axis] = dim_of({m->symbol, m->times / 2});
    } else if (size % 2 != 0) {
      return fail("split: x is ", shape_str(x.shape), "; its size along axis ", axis, " is ", size,
                  ", which is odd, so it has no two equal halves");
    } else {
      half[axis] = size / 2;
    }
    ctx.outputs = {TensorSpec{DType::f32, half}, TensorSpec{DType::f32, half}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) override {
    std::size_t axis = 0;
    KEEL_RETURN_IF_ERROR(layer::normalize_axis("split", axis_, ctx.inputs[0].shape.size(), axis));
    const Cut c = cut_at(ctx.inputs[0].shape, axis);
    outer_ = c.outer;
    run_ = ctx.inputs[0].shape[axis] / 2 * c.inner;
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    separate(ctx.inputs[0].as<float>(), outer_, ctx.outputs[0].as<float>(), run_, ctx.outputs[1].as<float>(),
             run_);
    return Status::Ok();
  }

  Status backward(const BackwardContext& ctx) override {
    float* gx = ctx.grad_inputs[0].as<float>();
    if (gx == nullptr) return Status::Ok();
    join(ctx.grad_outputs[0].as<float>(), run_, ctx.grad_outputs[1].as<float>(), run_, outer_, gx);
    return Status::Ok();
  }

 private:
  std::int64_t axis_;
  std::int64_t outer_ = 0;
  std::int64_t run_ = 0;
};

}  // namespace

OpSchema concat_schema() {
  OpSchema s = plugin_util::schema(
      "concat", "Joins a and b along one axis, a first, as torch.cat([a, b], axis).",
      {{"a", "f32 tensor"}, {"b", "f32 tensor of a's rank and sizes, except along the axis"}},
      {{"y", "f32 tensor: a's shape with the two sizes along the axis added"}});
  s.attrs = {axis_attr(
      "the axis joined along; negative counts from the end. A named size (batch) joins only the same name")};
  s.has_backward = true;
  s.examples = {
      {.doc = "features side by side",
       .attrs = {{"axis", std::int64_t{1}}},
       .inputs = {{{DType::f32, {kBatch, 3}}}, {{DType::f32, {kBatch, 2}}}}},
      {.doc = "two fixed-size batches stacked, as a GAN's real and fake rows",
       .attrs = {{"axis", std::int64_t{-4}}},
       .inputs = {{{DType::f32, {2, 1, 2, 2}}}, {{DType::f32, {3, 1, 2, 2}}}}},
  };
  return s;
}

std::unique_ptr<Op> concat_factory(const Attrs& attrs) { return std::make_unique<ConcatOp>(attrs.i("axis")); }

OpSchema split_schema() {
  OpSchema s = plugin_util::schema(
      "split", "Cuts x into its two equal halves along one axis, as torch.chunk(x, 2, axis).",
      {{"x", "f32 tensor whose size along the axis is even"}},
      {{"a", "f32 tensor: the first half, x's shape with half the size along the axis"},
       {"b", "f32 tensor: the second half, of a's shape"}});
  s.attrs = {axis_attr(
      "the axis cut; negative counts from the end. A named size must be one concat doubled (batch + batch)")};
  s.has_backward = true;
  s.examples = {
      {.doc = "features halved",
       .attrs = {{"axis", std::int64_t{-1}}},
       .inputs = {{{DType::f32, {kBatch, 4}}}}},
      {.doc = "a fixed-size batch halved, as a GAN's logits of real and fake rows",
       .inputs = {{{DType::f32, {6, 1}}}}},
      {.doc = "an odd size",
       .attrs = {{"axis", std::int64_t{1}}},
       .inputs = {{{DType::f32, {kBatch, 3}}}},
       .rejects = "which is odd"},
  };
  return s;
}

std::unique_ptr<Op> split_factory(const Attrs& attrs) { return std::make_unique<SplitOp>(attrs.i("axis")); }

}  // namespace keel::nn
