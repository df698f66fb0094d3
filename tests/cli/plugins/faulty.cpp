// Test plugin: `fault` copies its input, except at the stage named by its
// `stage` attribute, where it fails in the way `how` says: by throwing, by
// returning a failed Status, or by returning one with no message at all.
// Stage `bound_shape` is a different fault: infer() reports the input's
// shape while dimensions are symbolic (`keel validate`) and one more row
// once data binds them, so what it produces differs from what it inferred.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "keel/keel.hpp"

namespace {

class Fault final : public keel::Op {
 public:
  explicit Fault(const keel::Attrs& a) : stage_(a.s("stage")), how_(a.s("how")) {}

  keel::Status infer(keel::InferContext& ctx) const override {
    if (stage_ == "infer") return failure("infer");
    ctx.outputs = {ctx.inputs[0]};
    if (stage_ == "bound_shape" && keel::is_static(ctx.outputs[0].shape) && !ctx.outputs[0].shape.empty())
      ctx.outputs[0].shape[0] += 1;
    return {};
  }
  keel::Status prepare(const keel::PrepareContext&) override {
    return stage_ == "prepare" ? failure("prepare") : keel::Status::Ok();
  }
  keel::Status forward(const keel::ForwardContext& ctx) override {
    if (stage_ == "forward") return failure("forward");
    std::memcpy(ctx.outputs[0].data, ctx.inputs[0].data, ctx.inputs[0].nbytes());
    return {};
  }

 private:
  keel::Status failure(const char* where) const {
    if (how_ == "throw") throw std::runtime_error(std::string("boom in ") + where);
    if (how_ == "silent") return keel::Status::Error("");
    return keel::fail("refused in ", where);
  }
  std::string stage_;
  std::string how_;
};

keel::OpSchema fault_schema() {
  keel::OpSchema s;
  s.name = "fault";
  s.doc = "Copies x to y, or fails on purpose at one stage (for tests)";
  s.inputs = {{"x", "any tensor"}};
  s.outputs = {{"y", "a copy of x"}};
  s.attrs = {{"stage",
              keel::AttrType::String,
              "where to fail",
              std::string("none"),
              {},
              {},
              {"none", "infer", "prepare", "forward", "bound_shape"}},
             {"how",
              keel::AttrType::String,
              "how to fail",
              std::string("throw"),
              {},
              {},
              {"throw", "status", "silent"}}};
  return s;
}

void register_ops(keel::Registrar& r) { r.add(fault_schema(), keel::make_op<Fault>); }

// Code that runs the moment the library is loaded, before any entry point:
// what a hostile plugin would do. With KEEL_FAULTY_ANNOUNCE set it says so,
// so a test can check that a warning about its folder came first.
__attribute__((constructor)) void announce_load() {
  if (std::getenv("KEEL_FAULTY_ANNOUNCE")) std::fputs("faulty: library loaded\n", stderr);
}

}  // namespace

KEEL_PLUGIN("faulty", "0.1.0", register_ops)
