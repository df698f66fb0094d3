// bench_noop: y has x's spec and forward does nothing at all, so a graph of
// these nodes measures only what the engine spends per node.
#include "keel/keel.hpp"

namespace {

class NoopOp final : public keel::Op {
 public:
  explicit NoopOp(const keel::Attrs&) {}
  keel::Status infer(keel::InferContext& ctx) const override {
    if (ctx.inputs.size() != 1) return keel::fail("bench_noop: expected 1 input, got ", ctx.inputs.size());
    ctx.outputs = {ctx.inputs[0]};
    return keel::Status::Ok();
  }
  keel::Status forward(const keel::ForwardContext&) override { return keel::Status::Ok(); }
};

keel::OpSchema noop_schema() {
  keel::OpSchema s;
  s.name = "bench_noop";
  s.doc = "Does nothing: y is allocated with x's shape and left as it is (dispatch benchmark only).";
  s.inputs = {{"x", "any tensor"}};
  s.outputs = {{"y", "x's dtype and shape, contents unspecified"}};
  return s;
}

void register_ops(keel::Registrar& r) { r.add(noop_schema(), keel::make_op<NoopOp>); }

}  // namespace

KEEL_PLUGIN("bench_noop", "1.0.0", register_ops)
