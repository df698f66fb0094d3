// constant: a fixed f32 tensor that comes with the parameters, for values a
// model carries that are not a layer's weights (an imported ONNX model's
// initializer that is the B of an Add, say). The values are the node's
// parameter `value`, declared not trainable, so the params file or
// checkpoint provides them (`c.value`), training leaves them alone and
// autodiff counts the output as depending on no trained parameter.
#include <cstring>

#include "layer_shape.hpp"
#include "nn_ops.hpp"

namespace keel::nn {
namespace {

// A constant this large is no initializer; the bound keeps sizes far from
// overflow.
constexpr std::int64_t max_size = std::int64_t{1} << 31;

class ConstantOp final : public Op {
 public:
  explicit ConstantOp(std::vector<std::int64_t> shape) : shape_(shape.begin(), shape.end()) {}

  Status infer(InferContext& ctx) const override {
    for (Dim d : shape_)
      if (d < 1 || d > max_size)
        return fail("constant: shape sizes must lie in [1, ", max_size, "], got ", d);
    const auto total = layer::checked_product(shape_.begin(), shape_.end());
    if (!total || *total > max_size)
      return fail("constant: shape ", shape_str(shape_), " has more than ", max_size, " elements");
    ctx.outputs = {TensorSpec{DType::f32, shape_}};
    ctx.param_shapes = {shape_};
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    std::memcpy(ctx.outputs[0].data, ctx.params[0].data, ctx.outputs[0].nbytes());
    return Status::Ok();
  }

  // dy/dvalue is the identity. The engine never asks for it (the parameter
  // does not train); a caller that does gets grad_y.
  Status backward(const BackwardContext& ctx) override {
    const TensorView& g = ctx.grad_params[0];
    if (g.data != nullptr) std::memcpy(g.data, ctx.grad_outputs[0].data, g.nbytes());
    return Status::Ok();
  }

 private:
  Shape shape_;
};

}  // namespace

OpSchema constant_schema() {
  OpSchema s = plugin_util::schema(
      "constant",
      "A fixed f32 tensor read with the parameters (its parameter `value`, e.g. c.value), not trained: an "
      "imported model's constants that are not a layer's weights.",
      {}, {{"y", "f32 tensor of `shape`, equal to the parameter value"}});
  s.attrs = {AttrSpec{.name = "shape",
                      .type = AttrType::Ints,
                      .doc = "the tensor's sizes, each at least 1; [] is a scalar",
                      .min = 1.0,
                      .max = double(max_size)}};
  s.params = {{"value", "the tensor, of `shape`, from the params file or checkpoint (zeros until loaded)",
               Init::Zeros, false}};
  s.has_backward = true;
  s.examples = {{.doc = "a [2, 3] table", .attrs = {{"shape", std::vector<std::int64_t>{2, 3}}}},
                {.doc = "a scalar", .attrs = {{"shape", std::vector<std::int64_t>{}}}}};
  return s;
}

std::unique_ptr<Op> constant_factory(const Attrs& attrs) {
  return std::make_unique<ConstantOp>(attrs.ints("shape"));
}

}  // namespace keel::nn
