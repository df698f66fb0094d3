// The individual checks of keel::testing::check_op, one function each, in
// the order the report lists them.
#pragma once

#include <dlfcn.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include <cmath>
#include <iomanip>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "keel/testing/attributes.hpp"
#include "keel/testing/conformance.hpp"

namespace keel::testing {
namespace detail {

inline std::string specs_str(const std::vector<TensorSpec>& specs) {
  std::string s;
  for (const auto& t : specs) s += (s.empty() ? "" : ", ") + spec_str(t);
  return s;
}

// Symbolic and bound infer agree; infer is pure (same answer twice).
inline bool check_infer(const ExampleRun& run, Sink& out) {
  std::unique_ptr<Op> op;
  if (Status st = run.create(op); !st.ok()) return out.fail("infer", run.at(st.message())), false;
  InferContext sym, b1, b2;
  if (run.has_batch()) {
    if (Status st = run.infer(*op, run.declared_, sym); !st.ok())
      return out.fail("infer", run.at(st.message() + " (symbolic batch dimensions)")), false;
  }
  const auto bound = run.bound(-1);
  if (Status st = run.infer(*op, bound, b1); !st.ok()) return out.fail("infer", run.at(st.message())), false;
  if (Status st = run.infer(*op, bound, b2); !st.ok()) return out.fail("infer", run.at(st.message())), false;
  if (b1.outputs != b2.outputs || b1.param_shapes != b2.param_shapes)
    return out.fail("infer",
                    run.at("two calls with the same inputs gave different results (infer must be pure)")),
           false;
  for (std::size_t k = 0; k < b1.outputs.size(); ++k) {
    if (b1.outputs[k].shape.size() && !is_static(std::span<const Dim>(b1.outputs[k].shape)))
      return out.fail("infer", run.at("output '" + run.s_.outputs[k].name +
                                      "' has a symbolic dimension although "
                                      "every input dimension is bound")),
             false;
    if (!run.has_batch()) continue;
    TensorSpec expect = sym.outputs[k];
    expect.shape = bind_shape(expect.shape, [](int s) { return 3 + s; });
    if (expect != b1.outputs[k])
      return out.fail("infer", run.at("output '" + run.s_.outputs[k].name + "' is " +
                                      spec_str(sym.outputs[k]) + " with symbolic dimensions but " +
                                      spec_str(b1.outputs[k]) + " once they are bound")),
             false;
  }
  out.pass("infer", run.at(specs_str(bound) + " -> " + specs_str(b1.outputs)));
  return true;
}

struct ForwardResult {
  Instance inst;
  std::vector<Buffer> in, out, params;
};

// Forward fills every element infer reported and nothing more, in both
// modes; with deterministic ops two runs and a second instance agree.
inline bool check_forward(const ExampleRun& run, Sink& out, ForwardResult& training_result) {
  const auto specs = run.bound(-1);
  bool determinism_ok = true;
  std::string determinism_note;
  for (bool training : {false, true}) {
    const char* mode = training ? "training" : "inference";
    ForwardResult r;
    if (Status st = run.instantiate(specs, training, r.inst); !st.ok())
      return out.fail("forward", run.at(std::string(mode) + ": " + st.message())), false;
    r.in = run.make_inputs(specs);
    std::vector<Buffer> a, b, c, pa, pb, pc;
    for (auto [fill, dst, pdst] :
         {std::tuple{0x00, &a, &pa}, std::tuple{0x00, &b, &pb}, std::tuple{0xff, &c, &pc}}) {
      if (Status st = run.forward(r.inst, r.in, *pdst, training, static_cast<unsigned char>(fill), *dst);
          !st.ok())
        return out.fail("forward", run.at(std::string(mode) + ": " + st.message())), false;
    }
    if (run.s_.deterministic) {
      if (!same_bytes(a, b) || !same_bytes(pa, pb)) {
        determinism_ok = false;
        determinism_note = std::string(mode) +
                           ": two forward calls with the same inputs, seed and step differ "
                           "(declare deterministic = false if that is intended)";
      } else if (!same_bytes(a, c)) {
        for (std::size_t k = 0; k < a.size(); ++k)
          if (!a[k].same_bytes(c[k]))
            return out.fail("forward",
                            run.at(std::string(mode) + ": output '" + run.s_.outputs[k].name +
                                   "' depends on what the buffer held before: forward does not write "
                                   "every element of " +
                                   spec_str(a[k].spec()))),
                   false;
      }
    }
    if (training) {
      r.out = std::move(a);
      r.params = std::move(pa);
      training_result = std::move(r);
    }
  }
  out.pass("forward", run.at("writes exactly the " + specs_str(training_result.inst.outputs) +
                             " infer reported, inference and training"));
  if (!run.s_.deterministic) {
    out.skip("deterministic", run.at("the schema declares deterministic = false"));
    return true;
  }
  if (!determinism_ok) return out.fail("deterministic", run.at(determinism_note)), true;
  Instance second;
  std::vector<Buffer> o2, p2;
  if (Status st = run.instantiate(specs, true, second); !st.ok())
    return out.fail("deterministic", run.at("a second instance: " + st.message())), true;
  if (Status st = run.forward(second, training_result.in, p2, true, 0, o2); !st.ok())
    return out.fail("deterministic", run.at("a second instance: " + st.message())), true;
  if (!same_bytes(o2, training_result.out))
    return out.fail("deterministic", run.at("a second instance with the same attributes gives other bytes")),
           true;
  out.pass("deterministic", run.at("same bytes from two calls and from a second instance"));
  return true;
}

// Backward against central finite differences (keel/testing/gradcheck.hpp).
inline void check_backward(const ExampleRun& run, ForwardResult& f, Sink& out) {
  if (!run.s_.has_backward) return out.skip("backward", run.at("the schema declares no backward"));
  Instance& inst = f.inst;
  const auto r = run.loss_weights(inst);
  std::vector<Buffer> gin, gpar, gin2, gpar2;
  if (Status st = run.backward(inst, f.in, f.params, f.out, r, gin, gpar); !st.ok())
    return out.fail("backward", run.at(st.message()));
  if (Status st = run.backward(inst, f.in, f.params, f.out, r, gin2, gpar2); !st.ok())
    return out.fail("backward", run.at(st.message()));
  if (run.s_.deterministic && (!same_bytes(gin, gin2) || !same_bytes(gpar, gpar2)))
    return out.fail("backward", run.at("two backward calls with the same arguments differ"));

  std::vector<Buffer> in = f.in;
  std::vector<Buffer> params = inst.params;
  Status loss_status;
  auto loss = [&]() {
    std::vector<Buffer> o, scratch;
    Status st = run.forward(inst, in, scratch, true, 0, o, &params);
    if (!st.ok() && loss_status.ok()) loss_status = st;
    double sum = 0.0;
    for (std::size_t k = 0; k < o.size(); ++k)
      if (run.drives_loss(k, inst))
        for (std::int64_t i = 0; i < o[k].numel(); ++i) sum += r[k].get(i) * o[k].get(i);
    return sum;
  };
  GradCompare cmp;
  std::string precision;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!run.wants_input_grad(i, inst.inputs)) continue;
    precision += (precision.empty() ? "" : ", ") + std::string(dtype_name(in[i].spec().dtype));
    compare_gradient(in[i], gin[i], loss, run.opt_.gradient_samples, "input '" + run.s_.inputs[i].name + "'",
                     cmp);
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!run.s_.params[i].trainable) continue;
    compare_gradient(params[i], gpar[i], loss, run.opt_.gradient_samples,
                     "parameter '" + run.s_.params[i].name + "'", cmp);
  }
  if (!loss_status.ok())
    return out.fail("backward", run.at("forward during finite differences: " + loss_status.message()));
  if (!cmp.failure.empty())
    return out.fail("backward", run.at("differs from central finite differences: " + cmp.failure));
  if (cmp.compared == 0 && cmp.skipped == 0)
    return out.skip("backward", run.at("no differentiable floating input or trainable parameter"));
  if (cmp.skipped > cmp.compared)
    return out.fail("backward", run.at("finite differences unusable at " + std::to_string(cmp.skipped) +
                                       " of " + std::to_string(cmp.skipped + cmp.compared) +
                                       " points (not smooth there); change the example's values"));
  std::ostringstream os;
  os << cmp.compared << " partial derivatives agree with central finite differences (largest error "
     << std::setprecision(2) << cmp.worst_excess * 100 << "% of tolerance";
  if (cmp.skipped) os << ", " << cmp.skipped << " kink points skipped";
  os << ")";
  out.pass("backward", run.at(os.str()));
}

// Two instances at once, each in its own thread, give the sequential result.
inline void check_concurrent(const ExampleRun& run, const ForwardResult& ref, Sink& out) {
  const auto specs = run.bound(-1);
  struct Lane {
    Instance inst;
    std::vector<Buffer> o, p, gin, gpar;
    Status st;
  } lanes[2];
  for (auto& l : lanes)
    if (Status st = run.instantiate(specs, true, l.inst); !st.ok())
      return out.fail("concurrent", run.at(st.message()));
  std::vector<Buffer> r;
  if (run.s_.has_backward) r = run.loss_weights(lanes[0].inst);
  auto work = [&](Lane& l) {
    for (int rep = 0; rep < 3 && l.st.ok(); ++rep) {
      l.st = run.forward(l.inst, ref.in, l.p, true, 0, l.o);
      if (l.st.ok() && run.s_.has_backward)
        l.st = run.backward(l.inst, ref.in, ref.params, ref.out, r, l.gin, l.gpar);
    }
  };
  run.stage("forward and backward of two instances in two threads");
  {
    std::thread t0(work, std::ref(lanes[0])), t1(work, std::ref(lanes[1]));
    t0.join();
    t1.join();
  }
  for (auto& l : lanes)
    if (!l.st.ok()) return out.fail("concurrent", run.at(l.st.message()));
  if (run.s_.deterministic) {
    if (!same_bytes(lanes[0].o, ref.out) || !same_bytes(lanes[1].o, ref.out))
      return out.fail("concurrent", run.at("forward in two threads at once differs from forward alone"));
    if (!same_bytes(lanes[0].gin, lanes[1].gin) || !same_bytes(lanes[0].gpar, lanes[1].gpar))
      return out.fail("concurrent", run.at("backward in two threads at once gives different gradients"));
  }
  out.pass("concurrent", run.at("two instances in two threads, 3 steps each, match the sequential result"));
}

// The process's OpenMP thread count, through the runtime's own entry
// points when an op (or its libraries) brought one: looked up at run time,
// so the kit itself needs no OpenMP. A plugin loaded privately (RTLD_LOCAL,
// as `keel check-op` loads it) keeps its runtime out of the global scope,
// so GNU's libgomp is also asked for by name.
struct OpenMpThreads {
  using Set = void (*)(int);
  using Get = int (*)();
  Set set_ = nullptr;
  Get get = nullptr;
  OpenMpThreads() {
    void* scopes[] = {RTLD_DEFAULT, dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD)};
    for (void* scope : scopes) {
      if (!scope || present()) continue;
      set_ = reinterpret_cast<Set>(dlsym(scope, "omp_set_num_threads"));
      get = reinterpret_cast<Get>(dlsym(scope, "omp_get_max_threads"));
    }
  }
  bool present() const { return set_ && get; }
  // libgomp keeps a thread's count in memory it allocates on the first set
  // and frees when the thread ends; the main thread never ends, so that
  // memory is only ever reachable from its TLS, which LeakSanitizer may not
  // scan (scripts/test --sanitize address): libgomp's, not a leak of ours.
  void set(int n) const {
#if defined(__SANITIZE_ADDRESS__)
    __lsan::ScopedDisabler libgomp_thread_state;
#endif
    set_(n);
  }
};

// An op made, prepared and run with 1 OpenMP thread gives the same bytes,
// forward and backward, as one made, prepared and run with 2: keel/op.hpp
// asks every deterministic op for results that do not depend on the thread
// count (fixed-order reductions).
inline void check_threads(const ExampleRun& run, const ForwardResult& ref, Sink& out) {
  if (!run.s_.deterministic) return out.skip("threads", run.at("the schema declares deterministic = false"));
  const OpenMpThreads omp;
  if (!omp.present()) return out.skip("threads", run.at("no OpenMP runtime in this process"));
  const auto specs = run.bound(-1);
  const int saved = omp.get();
  struct Result {
    std::vector<Buffer> o, p, gin, gpar;
  } results[2];
  std::vector<Buffer> r;
  for (int k = 0; k < 2; ++k) {
    omp.set(k + 1);
    Instance inst;
    Status st = run.instantiate(specs, true, inst);
    if (st.ok()) st = run.forward(inst, ref.in, results[k].p, true, 0, results[k].o);
    if (st.ok() && run.s_.has_backward) {
      if (r.empty()) r = run.loss_weights(inst);
      st = run.backward(inst, ref.in, ref.params, ref.out, r, results[k].gin, results[k].gpar);
    }
    if (!st.ok()) {
      omp.set(saved);
      return out.fail("threads", run.at(std::to_string(k + 1) + " OpenMP threads: " + st.message()));
    }
  }
  omp.set(saved);
  if (!same_bytes(results[0].o, results[1].o) || !same_bytes(results[0].p, results[1].p))
    return out.fail("threads", run.at("forward with 1 and with 2 OpenMP threads gives different bytes"));
  if (!same_bytes(results[0].gin, results[1].gin) || !same_bytes(results[0].gpar, results[1].gpar))
    return out.fail("threads", run.at("backward with 1 and with 2 OpenMP threads gives different bytes"));
  out.pass("threads", run.at("the same bytes with 1 and with 2 OpenMP threads, forward and backward"));
}

// An op declaring `inplace` gives the same bytes with output 0 written over
// input 0 in forward, and input 0's gradient over output 0's in backward,
// as the engine runs it when input 0 is not needed afterwards.
inline void check_inplace(const ExampleRun& run, const ForwardResult& ref, Sink& out) {
  if (!run.s_.inplace) return;
  const Instance& inst = ref.inst;
  if (inst.inputs.empty() || inst.outputs.empty() || inst.inputs[0] != inst.outputs[0])
    return out.fail("in place", run.at("declares inplace, but output '" +
                                       (inst.outputs.empty() ? std::string("?") : run.s_.outputs[0].name) +
                                       "' is not the same dtype and shape as input '" +
                                       (inst.inputs.empty() ? std::string("?") : run.s_.inputs[0].name) +
                                       "', so the engine never runs it in place"));
  if (!run.s_.deterministic)
    return out.skip("in place", run.at("the schema declares deterministic = false: nothing to compare"));
  Instance fresh;
  if (Status st = run.instantiate(inst.inputs, true, fresh); !st.ok())
    return out.fail("in place", run.at(st.message()));
  // Forward: the output view is input 0's own memory.
  std::vector<Buffer> in = ref.in, params = fresh.params, o;
  for (std::size_t k = 1; k < fresh.outputs.size(); ++k) o.emplace_back(fresh.outputs[k]);
  std::vector<ConstTensorView> iv = cviews(in);
  std::vector<TensorView> ov{in[0].view()}, pv = views(params);
  for (Buffer& b : o) ov.push_back(b.view());
  ForwardContext fctx{iv, ov, pv, true, run.opt_.seed, 0};
  run.stage("forward in place");
  if (Status st = guarded([&] { return fresh.op->forward(fctx); }); !st.ok())
    return out.fail("in place", run.at("forward with y over x: " + refused(st)));
  if (!in[0].same_bytes(ref.out[0]))
    return out.fail("in place",
                    run.at("forward with output '" + run.s_.outputs[0].name + "' over input '" +
                           run.s_.inputs[0].name + "' differs from forward into a separate buffer"));
  if (!run.s_.has_backward || !run.wants_input_grad(0, inst.inputs) || !run.drives_loss(0, inst))
    return out.pass("in place", run.at("forward over its input gives the same bytes"));
  // Backward: input 0's gradient is written over output 0's gradient.
  Instance& bwd = fresh;
  const auto r = run.loss_weights(bwd);
  std::vector<Buffer> gin_ref, gpar_ref;
  if (Status st = run.backward(bwd, ref.in, ref.params, ref.out, r, gin_ref, gpar_ref); !st.ok())
    return out.fail("in place", run.at(st.message()));
  std::vector<Buffer> gy = r, gin, gpar;
  for (std::size_t i = 1; i < ref.in.size(); ++i) gin.emplace_back(ref.in[i].spec());
  for (const Buffer& p : ref.params) gpar.emplace_back(p.spec());
  auto rin = cviews(ref.in), rout = cviews(ref.out), rpar = cviews(ref.params), gyv = cviews(gy);
  std::vector<TensorView> giv{gy[0].view()}, gpv;
  for (std::size_t i = 1; i < ref.in.size(); ++i)
    giv.push_back(run.wants_input_grad(i, inst.inputs)
                      ? gin[i - 1].view()
                      : TensorView{ref.in[i].spec().dtype, ref.in[i].spec().shape, nullptr});
  for (std::size_t i = 0; i < gpar.size(); ++i)
    gpv.push_back(run.s_.params[i].trainable ? gpar[i].view()
                                             : TensorView{DType::f32, gpar[i].spec().shape, nullptr});
  BackwardContext bctx{rin, rout, rpar, gyv, giv, gpv, run.opt_.seed, 0};
  run.stage("backward in place");
  if (Status st = guarded([&] { return bwd.op->backward(bctx); }); !st.ok())
    return out.fail("in place", run.at("backward with grad x over grad y: " + refused(st)));
  if (!gy[0].same_bytes(gin_ref[0]))
    return out.fail("in place",
                    run.at("backward with the gradient of '" + run.s_.inputs[0].name + "' over that of '" +
                           run.s_.outputs[0].name + "' differs from backward into a separate buffer"));
  out.pass("in place",
           run.at("forward over its input and backward over its output gradient give the same bytes"));
}

// Every batch dimension 0: works, or refused with a message.
inline void check_zero_size(const ExampleRun& run, Sink& out) {
  if (!run.has_batch()) return out.skip("zero-size", run.at("the example has no batch (symbolic) dimension"));
  const auto specs = run.bound(0);
  // A refusal is fine if it says why; writing out of bounds never is.
  auto refusal = [&](const Status& st, const char* what) {
    if (!says_why(st) || st.message().find("wrote past the end") != std::string::npos)
      return out.fail("zero-size", run.at(st.message()));
    out.pass("zero-size",
             run.at(std::string(what) + (*what ? " " : "") + "refused cleanly: " + st.message()));
  };
  Instance inst;
  if (Status st = run.instantiate(specs, true, inst); !st.ok()) return refusal(st, "");
  const auto in = run.make_inputs(specs);
  std::vector<Buffer> o, p, gin, gpar;
  if (Status st = run.forward(inst, in, p, true, 0, o); !st.ok()) return refusal(st, "forward");
  if (run.s_.has_backward) {
    const auto r = run.loss_weights(inst);
    if (Status st = run.backward(inst, in, p, o, r, gin, gpar); !st.ok()) return refusal(st, "backward");
  }
  out.pass("zero-size", run.at(specs_str(specs) + " -> " + specs_str(inst.outputs)));
}

// An example marked `rejects` must be refused with that text.
inline void check_rejected(const ExampleRun& run, Sink& out) {
  const auto specs = run.bound(-1);
  Instance inst;
  Status st = run.instantiate(specs, true, inst);
  if (st.ok()) {
    const auto in = run.make_inputs(specs);
    std::vector<Buffer> o, p;
    st = run.forward(inst, in, p, true, 0, o);
  }
  if (st.ok())
    return out.fail("rejects", run.at("accepted, but the example says it must be refused with '" +
                                      run.ex_.rejects + "'"));
  if (st.message().find(run.ex_.rejects) == std::string::npos)
    return out.fail("rejects", run.at("refused with '" + st.message() + "', expected a message containing '" +
                                      run.ex_.rejects + "'"));
  out.pass("rejects", run.at("refused: " + st.message()));
}

inline OpExample default_example(const OpSchema& s) {
  OpExample ex;
  ex.doc = "default: f32 [batch, 4] per input";
  for (std::size_t i = 0; i < s.inputs.size(); ++i)
    ex.inputs.push_back({{DType::f32, {symbolic_dim(0), 4}}, -1.0, 1.0, {}});
  return ex;
}

}  // namespace detail

inline Report check_op(const OpSchema& schema, const OpMaker& factory, const Options& options) {
  Report report;
  report.op = schema.name;
  detail::Sink out{report};
  std::vector<OpExample> examples = schema.examples;
  if (examples.empty()) examples.push_back(detail::default_example(schema));
  std::size_t valid = 0;
  for (const auto& ex : examples) valid += ex.rejects.empty();
  std::size_t index = 0;
  const OpExample* first_valid = nullptr;
  for (const OpExample& ex : examples) {
    ++index;
    std::string label = examples.size() > 1 ? "example " + std::to_string(index) : "";
    if (ex.inputs.size() != schema.inputs.size()) {
      out.fail("example", label + (label.empty() ? "" : ": ") + "has " + std::to_string(ex.inputs.size()) +
                              " inputs, the op " + std::to_string(schema.inputs.size()));
      continue;
    }
    std::string missing;
    for (const AttrSpec& a : schema.attrs)
      if (!a.default_value && !ex.attrs.count(a.name) && !options.attrs.count(a.name))
        missing += (missing.empty() ? "" : ", ") + a.name;
    if (!missing.empty()) {
      out.fail("example", label + (label.empty() ? "" : ": ") + "no value for the required attribute(s) " +
                              missing + "; give them in an example (OpSchema::examples) or with --attrs");
      continue;
    }
    detail::Scratch scratch(ex.files);
    detail::ExampleRun run(schema, factory, options, ex, label);
    if (!ex.rejects.empty()) {
      detail::check_rejected(run, out);
      continue;
    }
    if (!first_valid) first_valid = &ex;
    if (!detail::check_infer(run, out)) continue;
    detail::ForwardResult f;
    if (!detail::check_forward(run, out, f)) continue;
    detail::check_backward(run, f, out);
    detail::check_concurrent(run, f, out);
    detail::check_threads(run, f, out);
    detail::check_inplace(run, f, out);
    detail::check_zero_size(run, out);
  }
  if (valid == 0) out.fail("example", "every example is marked `rejects`: nothing shows a valid use");
  if (first_valid) detail::check_attributes(schema, factory, options, *first_valid, out);
  return report;
}

}  // namespace keel::testing
