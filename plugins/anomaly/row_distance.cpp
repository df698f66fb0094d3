// row_distance: per row, the L2 distance between a prediction and a
// reference (an autoencoder's reconstruction and its input), as a
// [rows, 1] value. A guard downstream judges it against statistics of the
// training rows: `anomaly_check` with `check: zscore` and the node in
// train.calibrate, which measures the trained model's distances after the
// last step (docs/graph-format.md, "Screening with a generative model").
// anomaly_distance is the same distance with a fixed threshold built in.
#include "anomaly_ops.hpp"
#include "scans.hpp"

namespace keel::anomaly {
namespace {

class RowDistanceOp final : public Op {
 public:
  Status infer(InferContext& ctx) const override {
    const TensorSpec& p = ctx.inputs[0];
    const TensorSpec& r = ctx.inputs[1];
    if (p.dtype != DType::f32 || r.dtype != DType::f32)
      return fail("row_distance: prediction and reference must be f32");
    if (p.shape.empty()) return fail("row_distance: prediction is a scalar; it needs rows (the first axis)");
    if (p.shape != r.shape)
      return fail("row_distance: prediction is ", shape_str(p.shape), " but reference is ",
                  shape_str(r.shape), "; they must have the same shape");
    ctx.outputs = {{DType::f32, {p.shape[0], 1}}};
    ctx.param_shapes.clear();
    return {};
  }

  Status prepare(const PrepareContext& ctx) override {
    const auto& shape = ctx.inputs[0].shape;
    rows_ = shape[0];
    cols_ = rows_ ? numel(shape) / rows_ : 0;
    return {};
  }

  Status forward(const ForwardContext& ctx) override {
    distance_rows(ctx.inputs[0].as<float>(), ctx.inputs[1].as<float>(), rows_, cols_,
                  ctx.outputs[0].as<float>());
    return {};
  }

 private:
  std::int64_t rows_ = 0, cols_ = 0;
};

}  // namespace

OpSchema row_distance_schema() {
  OpSchema s = plugin_util::schema(
      "row_distance",
      "Per row, the L2 distance ||prediction - reference||_2 (a reconstruction error), as [rows, 1] for a "
      "guard to judge.",
      {{"prediction", "f32 [rows, ...]", false}, {"reference", "f32, the prediction's shape", false}},
      {{"distance", "f32 [rows, 1]"}});
  s.examples = {{.inputs = {{{DType::f32, {kBatch, 4}}}, {{DType::f32, {kBatch, 4}}}}}};
  return s;
}

std::unique_ptr<Op> row_distance_factory(const Attrs&) { return std::make_unique<RowDistanceOp>(); }

}  // namespace keel::anomaly
