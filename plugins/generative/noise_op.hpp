// The op noise and noise_like both are: f32 [rows, *shape] drawn from the
// distribution their attributes name. They differ only in where the row
// count comes from (noise's count attribute, or like's first dimension),
// which each supplies through rows().
#pragma once

#include <cstdint>

#include "common/keel_rng.hpp"
#include "noise_draw.hpp"

namespace keel::generative {

class NoiseOpBase : public Op {
 public:
  Status infer(InferContext& ctx) const final {
    Dim rows = 0;
    KEEL_RETURN_IF_ERROR(this->rows(ctx, rows));
    KEEL_RETURN_IF_ERROR(check_noise(op_, spec_, rows));
    Shape out{rows};
    out.insert(out.end(), spec_.row.begin(), spec_.row.end());
    ctx.outputs = {TensorSpec{DType::f32, std::move(out)}};
    ctx.param_shapes.clear();
    return Status::Ok();
  }

  Status prepare(const PrepareContext& ctx) final {
    count_ = numel(ctx.outputs[0].shape);
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) final {
    draw_noise(spec_, rng::stream_key(ctx.seed, ctx.step), ctx.outputs[0].as<float>(), count_);
    return Status::Ok();
  }

 protected:
  NoiseOpBase(const char* op, const Attrs& attrs) : op_(op), spec_(noise_spec(attrs)) {}

  // The output's row count, or the error that says why there is none.
  virtual Status rows(const InferContext& ctx, Dim& rows) const = 0;

 private:
  const char* op_;
  NoiseSpec spec_;
  std::int64_t count_ = 0;
};

}  // namespace keel::generative
