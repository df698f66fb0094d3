// The shell every bundled oneDNN op shares, so an op file holds only its
// shapes, its primitives and the arguments it binds each step.
//
// What the shell does not do is on purpose: keel/op.hpp guarantees span
// sizes, one prepare before any forward, and backward only after a training
// forward, so nothing here checks them again; and the engine turns any
// exception into an error naming the op, so only oneDNN's errors are caught,
// to say that oneDNN failed and in which phase.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <unordered_map>
#include <utility>

#include "common/keel_dnnl.hpp"
#include "common/keel_parallel.hpp"

namespace keel::dnnl_util {

class DnnlOp : public Op {
 public:
  Status prepare(const PrepareContext& ctx) final {
    training_ = ctx.training;
    std::int64_t bytes = 0;
    for (const auto* specs : {&ctx.inputs, &ctx.outputs, &ctx.params})
      for (const TensorSpec& t : *specs) bytes += numel(t.shape) * std::int64_t(dtype_size(t.dtype));
    one_thread_ = threads_ == Threads::by_size && parallel::threads_for_bytes(bytes) == 1;
    return in_onednn("prepare", [&] { return build(ctx); });
  }

 protected:
  // What decides the op's thread count: its tensors' size (the default), or
  // the op itself, by its work (matrix products: split_matmul.hpp cuts
  // them by FLOPs, and a 2 MB product is compute, worth two threads).
  enum class Threads { by_size, by_op };
  explicit DnnlOp(const char* name, Threads threads = Threads::by_size) : name_(name), threads_(threads) {}

  // Creates the primitives and memory objects for these static shapes.
  virtual Status build(const PrepareContext& ctx) = 0;

  // Runs `submit(stream)` on this thread's stream, then waits for it: the
  // engine reads the results as soon as the call returns.
  template <class Submit>
  Status run(const char* phase, Submit&& submit) {
    return in_onednn(phase, [&] {
      dnnl::stream& s = thread_stream();
      submit(s);
      s.wait();
      return Status::Ok();
    });
  }

  // The common case: one primitive, with arguments bound beforehand.
  Status run(const char* phase, const dnnl::primitive& p, const std::unordered_map<int, dnnl::memory>& args) {
    return run(phase, [&](dnnl::stream& s) { p.execute(s, args); });
  }

  // One primitive reading `src` and writing `dst` (the forward of an
  // elementwise or row-wise op), through memory objects made in build().
  Status run_src_dst(const char* phase, const dnnl::primitive& p, const dnnl::memory& src_mem,
                     const void* src, const dnnl::memory& dst_mem, void* dst) {
    return run(phase, [&](dnnl::stream& s) {
      p.execute(s, {{DNNL_ARG_SRC, bind(src_mem, src)}, {DNNL_ARG_DST, bind(dst_mem, dst)}});
    });
  }

  const char* name() const { return name_; }
  bool training() const { return training_; }  // as prepared

  // Runs `body` (which returns a Status), turning a oneDNN error into a
  // message that names the op, the phase and oneDNN. An op whose tensors
  // are too small to share between threads (keel_parallel.hpp) makes and
  // runs its primitives on the calling thread alone: a parallel region
  // would cost more than it saves.
  template <class Body>
  Status in_onednn(const char* phase, Body&& body) {
    std::optional<parallel::OneThread> one;
    if (one_thread_) one.emplace();
    try {
      return std::forward<Body>(body)();
    } catch (const dnnl::error& e) {
      return fail(name_, ": ", phase, " failed in oneDNN: ", e.what());
    }
  }

 private:
  const char* name_;
  Threads threads_;
  bool training_ = false;
  bool one_thread_ = false;
};

}  // namespace keel::dnnl_util
