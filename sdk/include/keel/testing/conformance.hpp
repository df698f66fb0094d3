// The checks behind keel::testing::check_op (declared in keel/testing.hpp).
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "keel/testing/buffers.hpp"
#include "keel/testing/gradcheck.hpp"
#include "keel/testing/instance.hpp"

namespace keel::testing {
namespace detail {

// Any exception from the op becomes a failed Status, as in the runner.
template <class F>
Status guarded(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::Error(std::string("threw: ") + e.what());
  } catch (...) {
    return Status::Error("threw an unknown exception");
  }
}

constexpr const char* kNoMessage = "failed without a message";

inline std::string refused(const Status& st) { return st.message().empty() ? kNoMessage : st.message(); }

// A refusal a user can act on: it says something.
inline bool says_why(const Status& st) { return st.message().find(kNoMessage) == std::string::npos; }

// The example's files in a fresh folder that is the current folder while
// the example runs; the old current folder comes back on destruction.
class Scratch {
 public:
  explicit Scratch(const std::vector<ExampleFile>& files) {
    if (files.empty()) return;
    namespace fs = std::filesystem;
    std::error_code ec;
    old_ = fs::current_path(ec);
    std::string tmpl = (fs::temp_directory_path(ec) / "keel-check-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return;
    dir_ = tmpl;
    for (const auto& f : files) {
      std::ofstream(dir_ / f.name, std::ios::binary) << f.contents;
      ::chmod((dir_ / f.name).c_str(), 0600);
    }
    fs::current_path(dir_, ec);
  }
  ~Scratch() {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::current_path(old_, ec);
    std::filesystem::remove_all(dir_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

 private:
  std::filesystem::path old_, dir_;
};

// Collects the report's lines.
struct Sink {
  Report& report;
  void pass(const std::string& name, const std::string& detail) {
    report.checks.push_back({name, Outcome::passed, detail});
  }
  void fail(const std::string& name, const std::string& detail) {
    report.checks.push_back({name, Outcome::failed, detail});
  }
  void skip(const std::string& name, const std::string& detail) {
    report.checks.push_back({name, Outcome::skipped, detail});
  }
};

class ExampleRun {
 public:
  ExampleRun(const OpSchema& schema, OpMaker factory, const Options& options, const OpExample& example,
             std::string label)
      : s_(schema), factory_(factory), opt_(options), ex_(example), label_(std::move(label)) {
    std::map<std::string, AttrValue> values = example.attrs;
    for (const auto& [k, v] : options.attrs) values[k] = v;
    for (const AttrSpec& a : schema.attrs)
      if (!values.count(a.name) && a.default_value) values.emplace(a.name, *a.default_value);
    attrs_ = Attrs(std::move(values));
    for (const auto& in : example.inputs) declared_.push_back(in.spec);
  }

  std::vector<TensorSpec> bound(int size_or_minus1) const {
    std::vector<TensorSpec> out = declared_;
    for (auto& t : out)
      t.shape = bind_shape(t.shape, [&](int k) { return size_or_minus1 < 0 ? 3 + k : size_or_minus1; });
    return out;
  }
  bool has_batch() const {
    for (const auto& t : declared_)
      if (has_symbols(t.shape)) return true;
    return false;
  }
  std::string at(const std::string& what) const { return label_.empty() ? what : label_ + ": " + what; }

  // Only from the thread that runs the check: the host's hook need not be
  // thread-safe (check_concurrent names its stage before it starts threads).
  void stage(std::string_view what) const {
    if (opt_.on_stage && std::this_thread::get_id() == owner_) opt_.on_stage(what);
  }

  Status create(std::unique_ptr<Op>& op) const {
    stage("factory");
    Status st = guarded([&] {
      op = factory_(attrs_);
      return op ? Status::Ok() : Status::Error("the factory returned no op");
    });
    return st.ok() ? st : Status::Error("factory " + refused(st));
  }

  Status infer(const Op& op, const std::vector<TensorSpec>& inputs, InferContext& ctx) const {
    stage("infer");
    ctx.inputs = inputs;
    Status st = guarded([&] { return op.infer(ctx); });
    if (!st.ok()) return Status::Error("infer " + refused(st));
    if (ctx.outputs.size() != s_.outputs.size())
      return fail("infer reported ", ctx.outputs.size(), " outputs, the schema declares ", s_.outputs.size());
    if (ctx.param_shapes.size() != s_.params.size())
      return fail("infer reported ", ctx.param_shapes.size(), " parameter shapes, the schema declares ",
                  s_.params.size());
    return Status::Ok();
  }

  Status instantiate(const std::vector<TensorSpec>& inputs, bool training, Instance& inst) const {
    KEEL_RETURN_IF_ERROR(create(inst.op));
    InferContext ic;
    KEEL_RETURN_IF_ERROR(infer(*inst.op, inputs, ic));
    inst.inputs = inputs;
    inst.outputs = ic.outputs;
    // The instance's parameters hold initial values; forward runs on copies.
    std::mt19937_64 rng(opt_.seed * 7919 + 17);
    inst.params.clear();
    for (std::size_t i = 0; i < ic.param_shapes.size(); ++i) {
      inst.params.emplace_back(TensorSpec{DType::f32, ic.param_shapes[i]});
      fill_param(inst.params.back(), s_.params[i], rng);
    }
    stage("prepare");
    Status st = guarded([&] { return inst.prepare(training); });
    return st.ok() ? st : Status::Error("prepare " + refused(st));
  }

  std::vector<Buffer> make_inputs(const std::vector<TensorSpec>& specs) const {
    std::mt19937_64 rng(opt_.seed);
    std::vector<Buffer> in;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      in.emplace_back(specs[i]);
      fill_input(in.back(), ex_.inputs[i], rng);
    }
    return in;
  }

  // One forward on `params`, a copy of the instance's initial parameters
  // (or of `start`); `fill` pre-sets the outputs.
  Status forward(Instance& inst, const std::vector<Buffer>& in, std::vector<Buffer>& params, bool training,
                 unsigned char fill, std::vector<Buffer>& out,
                 const std::vector<Buffer>* start = nullptr) const {
    out.clear();
    out.reserve(inst.outputs.size());
    for (const auto& spec : inst.outputs) out.emplace_back(spec, fill);
    params = start ? *start : inst.params;
    auto iv = cviews(in);
    auto ov = views(out);
    auto pv = views(params);
    ForwardContext ctx{iv, ov, pv, training, opt_.seed, 0};
    stage("forward");
    Status st = guarded([&] { return inst.op->forward(ctx); });
    if (!st.ok()) return Status::Error("forward " + refused(st));
    for (std::size_t i = 0; i < out.size(); ++i)
      if (!out[i].guard_intact())
        return fail("forward wrote past the end of output '", s_.outputs[i].name, "' (",
                    spec_str(out[i].spec()), " as infer reported)");
    return Status::Ok();
  }

  bool wants_input_grad(std::size_t i, const std::vector<TensorSpec>& specs) const {
    return s_.inputs[i].differentiable && is_floating(specs[i].dtype);
  }
  bool drives_loss(std::size_t k, const Instance& inst) const {
    return s_.outputs[k].differentiable && is_floating(inst.outputs[k].dtype);
  }

  // backward with grad_outputs `r`; gradients nobody needs get null views.
  Status backward(Instance& inst, const std::vector<Buffer>& in, const std::vector<Buffer>& params,
                  const std::vector<Buffer>& out, const std::vector<Buffer>& r, std::vector<Buffer>& gin,
                  std::vector<Buffer>& gpar) const {
    gin.clear();
    gpar.clear();
    gin.reserve(in.size());
    gpar.reserve(params.size());
    std::vector<TensorView> giv, gpv;
    for (std::size_t i = 0; i < in.size(); ++i) {
      gin.emplace_back(in[i].spec(), 0x7f);
      giv.push_back(wants_input_grad(i, inst.inputs)
                        ? gin.back().view()
                        : TensorView{in[i].spec().dtype, gin.back().spec().shape, nullptr});
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      gpar.emplace_back(params[i].spec(), 0x7f);
      gpv.push_back(s_.params[i].trainable ? gpar.back().view()
                                           : TensorView{DType::f32, gpar.back().spec().shape, nullptr});
    }
    auto iv = cviews(in), ov = cviews(out), pv = cviews(params), rv = cviews(r);
    BackwardContext ctx{iv, ov, pv, rv, giv, gpv, opt_.seed, 0};
    stage("backward");
    Status st = guarded([&] { return inst.op->backward(ctx); });
    if (!st.ok()) return Status::Error("backward " + refused(st));
    for (std::size_t i = 0; i < gin.size(); ++i)
      if (!gin[i].guard_intact())
        return fail("backward wrote past the end of the gradient of input '", s_.inputs[i].name, "'");
    for (std::size_t i = 0; i < gpar.size(); ++i)
      if (!gpar[i].guard_intact())
        return fail("backward wrote past the end of the gradient of parameter '", s_.params[i].name, "'");
    return Status::Ok();
  }

  std::vector<Buffer> loss_weights(const Instance& inst) const {
    std::mt19937_64 rng(opt_.seed + 101);
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    std::vector<Buffer> r;
    for (std::size_t k = 0; k < inst.outputs.size(); ++k) {
      r.emplace_back(inst.outputs[k]);
      for (std::int64_t i = 0; i < r.back().numel(); ++i)
        r.back().set(i, drives_loss(k, inst) ? dist(rng) : 0.0);
    }
    return r;
  }

  const OpSchema& s_;
  OpMaker factory_;
  const Options& opt_;
  const OpExample& ex_;
  std::string label_;
  Attrs attrs_;
  std::vector<TensorSpec> declared_;
  std::thread::id owner_ = std::this_thread::get_id();
};

}  // namespace detail
}  // namespace keel::testing

#include "keel/testing/checks.hpp"
