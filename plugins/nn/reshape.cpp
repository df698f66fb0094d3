// flatten and reshape: the same bytes under a new shape. Keel tensors are
// always contiguous, so forward copies x to y and backward copies grad_y to
// grad_x; all the work is in the shape rules, which must hold for symbolic
// sizes at validate time as well as for bound ones.
#include <algorithm>
#include <cstring>
#include <vector>

#include "common/keel_dnnl.hpp"
#include "layer_shape.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

namespace du = keel::dnnl_util;
using layer::checked_product;

class CopyShapeOp : public Op {
 public:
  Status infer(InferContext& ctx) const final {
    KEEL_RETURN_IF_ERROR(du::expect_f32(name(), "x", ctx.inputs[0]));
    Shape y;
    KEEL_RETURN_IF_ERROR(target(ctx.inputs[0].shape, y));
    ctx.outputs = {TensorSpec{DType::f32, std::move(y)}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) final {
    Shape y;
    KEEL_RETURN_IF_ERROR(target(ctx.inputs[0].shape, y));
    bytes_ = static_cast<std::size_t>(numel(y)) * sizeof(float);
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) final { return copy(ctx.inputs[0], ctx.outputs[0]); }

  Status backward(const BackwardContext& ctx) final {
    if (ctx.grad_inputs[0].data == nullptr) return Status::Ok();
    return copy(ctx.grad_outputs[0], ctx.grad_inputs[0]);
  }

 protected:
  virtual const char* name() const = 0;
  // The output shape for input shape x, symbolic dimensions included.
  virtual Status target(const Shape& x, Shape& y) const = 0;

 private:
  Status copy(const ConstTensorView& from, const TensorView& to) const {
    // The views' sizes come from the engine; copying a different amount
    // than prepare planned would run past one of the buffers.
    if (from.nbytes() != bytes_ || to.nbytes() != bytes_)
      return fail(name(), ": expected ", bytes_ / sizeof(float), " elements, got ", from.numel(), " and ",
                  to.numel());
    if (bytes_ != 0 && from.data != to.data) std::memcpy(to.data, from.data, bytes_);
    return Status::Ok();
  }

  std::size_t bytes_ = 0;
};

class FlattenOp final : public CopyShapeOp {
 public:
  explicit FlattenOp(std::int64_t axis) : axis_(axis) {}

 private:
  const char* name() const override { return "flatten"; }

  Status target(const Shape& x, Shape& y) const override {
    if (x.empty()) return fail("flatten: x must have rank 1 or more, got a scalar");
    std::size_t axis = 0;
    KEEL_RETURN_IF_ERROR(layer::normalize_axis("flatten", axis_, x.size(), axis));
    const auto first = x.begin() + static_cast<std::ptrdiff_t>(axis);
    y.assign(x.begin(), first);
    const auto symbolic = std::count_if(first, x.end(), [](Dim d) { return !is_static(d); });
    if (symbolic == 0) {
      const auto merged = checked_product(first, x.end());
      if (!merged) return fail("flatten: x ", shape_str(x), " has too many elements");
      y.push_back(*merged);
      return Status::Ok();
    }
    // A symbol survives only when every other merged size is 1: a product
    // such as batch * 8 has no name a later op could compare against.
    std::vector<Dim> statics;
    std::copy_if(first, x.end(), std::back_inserter(statics), is_static_dim);
    const auto rest = checked_product(statics.begin(), statics.end());
    if (symbolic > 1 || !rest || *rest != 1)
      return fail("flatten: cannot merge axes ", axis, " to ", x.size() - 1, " of ", shape_str(x),
                  " into one: it would multiply a symbolic size by other sizes");
    y.push_back(*std::find_if(first, x.end(), [](Dim d) { return !is_static(d); }));
    return Status::Ok();
  }

  static bool is_static_dim(Dim d) { return is_static(d); }

  std::int64_t axis_;
};

std::string ints_str(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

class ReshapeOp final : public CopyShapeOp {
 public:
  explicit ReshapeOp(std::vector<std::int64_t> shape) : shape_(std::move(shape)) {}

 private:
  const char* name() const override { return "reshape"; }

  Status target(const Shape& x, Shape& y) const override {
    const auto wild = std::count(shape_.begin(), shape_.end(), std::int64_t{-1});
    for (std::int64_t d : shape_)
      if (d < -1 || d == 0)
        return fail("reshape: shape ", ints_str(shape_), " may hold sizes >= 1 and one -1, not ", d);
    if (wild > 1) return fail("reshape: shape ", ints_str(shape_), " has more than one -1");
    std::vector<Dim> known;
    std::copy_if(shape_.begin(), shape_.end(), std::back_inserter(known), [](Dim d) { return d != -1; });
    const auto known_count = checked_product(known.begin(), known.end());
    if (!known_count) return fail("reshape: shape ", ints_str(shape_), " has too many elements");
    y.assign(shape_.begin(), shape_.end());
    const auto wild_at = std::find(y.begin(), y.end(), Dim{-1});

    const auto symbolic = std::count_if(x.begin(), x.end(), [](Dim d) { return !is_static(d); });
    if (symbolic == 0) {
      const auto total = checked_product(x.begin(), x.end());
      if (!total) return fail("reshape: x ", shape_str(x), " has too many elements");
      const bool fits = wild == 1 ? *total % *known_count == 0 : *total == *known_count;
      if (!fits)
        return fail("reshape: cannot reshape x ", shape_str(x), " (", *total, " elements) into ",
                    ints_str(shape_));
      if (wild == 1) *wild_at = *total / *known_count;
      return Status::Ok();
    }
    // With a symbolic size the element count is unknown: the -1 can only
    // stand for that one symbol, and the known sizes must match exactly.
    std::vector<Dim> statics;
    std::copy_if(x.begin(), x.end(), std::back_inserter(statics), [](Dim d) { return is_static(d); });
    const auto static_count = checked_product(statics.begin(), statics.end());
    if (symbolic > 1 || wild != 1 || !static_count || *static_count != *known_count)
      return fail("reshape: cannot reshape x ", shape_str(x), " into ", ints_str(shape_),
                  ": with a symbolic size, x must have exactly one, the shape exactly one -1 to carry it, "
                  "and the other sizes must multiply to the same count");
    *wild_at = *std::find_if(x.begin(), x.end(), [](Dim d) { return !is_static(d); });
    return Status::Ok();
  }

  std::vector<std::int64_t> shape_;
};

OpSchema copy_schema(const char* name, const char* doc, const char* y_doc) {
  OpSchema s = plugin_util::schema(name, doc, {{"x", "f32 tensor"}}, {{"y", y_doc}});
  s.has_backward = true;
  return s;
}

}  // namespace

OpSchema flatten_schema() {
  OpSchema s =
      copy_schema("flatten", "Merges the axes from `axis` to the last into one, as torch.flatten(x, axis).",
                  "[d0, ..., d(axis-1), product of the rest]");
  s.attrs = {AttrSpec{.name = "axis",
                      .type = AttrType::Int,
                      .doc = "first axis merged; negative counts from the end. Symbolic sizes may only be "
                             "merged with sizes of 1",
                      .default_value = AttrValue{std::int64_t{1}}}};
  return s;
}

std::unique_ptr<Op> flatten_factory(const Attrs& attrs) {
  return std::make_unique<FlattenOp>(attrs.i("axis"));
}

OpSchema reshape_schema() {
  OpSchema s =
      copy_schema("reshape", "The same elements, in C order, under a new shape.", "f32 tensor of `shape`");
  s.attrs = {AttrSpec{.name = "shape",
                      .type = AttrType::Ints,
                      .doc = "target sizes >= 1; one may be -1 to take what is left. If x has a symbolic "
                             "size, the -1 takes that symbol and the other sizes must match x's",
                      .min = -1.0}};
  s.examples = {
      {.attrs = {{"shape", std::vector<std::int64_t>{-1, 2, 2}}}, .inputs = {{{DType::f32, {kBatch, 4}}}}}};
  return s;
}

std::unique_ptr<Op> reshape_factory(const Attrs& attrs) {
  return std::make_unique<ReshapeOp>(attrs.ints("shape"));
}

}  // namespace keel::nn
