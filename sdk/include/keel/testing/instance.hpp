// One op object taken through the engine's lifecycle up to forward: made by
// its factory, inferred, prepared, with a buffer per parameter. The kit's
// checks run on it, and so can a plugin's own tests (keel/testing.hpp):
//
//   keel::testing::Instance inst;
//   REQUIRE(inst.create(factory, attrs, {{keel::DType::f32, {2, 4}}}).ok());
//   REQUIRE(inst.prepare(/*training=*/true).ok());
//   // inst.outputs: the specs infer reported; inst.params: zeros
//   inst.op->forward({inputs, outputs, keel::testing::views(inst.params), true, 0, 0});
//
// The op's own Status comes back; nothing here requires success, so a test
// can check a refusal as well. One Instance prepares once: the engine's
// guarantees (keel/op.hpp) give every shape binding a fresh op object.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "keel/op.hpp"
#include "keel/status.hpp"
#include "keel/testing/buffers.hpp"

namespace keel::testing {

struct Instance {
  std::unique_ptr<Op> op;
  std::vector<TensorSpec> inputs, outputs;
  std::vector<Buffer> params;  // f32, one per shape infer reported

  std::vector<TensorSpec> param_specs() const {
    std::vector<TensorSpec> specs;
    for (const Buffer& p : params) specs.push_back(p.spec());
    return specs;
  }

  // Makes the op and infers it on `in`: the outputs infer reports and a
  // zero buffer per parameter shape. A factory that returns no op fails.
  Status create(const OpMaker& factory, const Attrs& attrs, std::vector<TensorSpec> in) {
    op = factory(attrs);
    if (!op) return Status::Error("the factory returned no op");
    return infer(std::move(in));
  }

  // infer() alone, on this instance's op (pure, so callable again).
  Status infer(std::vector<TensorSpec> in) {
    inputs = std::move(in);
    InferContext ic;
    ic.inputs = inputs;
    KEEL_RETURN_IF_ERROR(op->infer(ic));
    outputs = std::move(ic.outputs);
    params.clear();
    for (Shape& s : ic.param_shapes) params.emplace_back(TensorSpec{DType::f32, std::move(s)});
    return Status::Ok();
  }

  // prepare() for the specs infer reported; once per instance.
  Status prepare(bool training) {
    const std::vector<TensorSpec> pspecs = param_specs();
    const PrepareContext pc{inputs, outputs, pspecs, training};
    return op->prepare(pc);
  }
};

}  // namespace keel::testing
