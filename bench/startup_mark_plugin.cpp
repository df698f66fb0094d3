// bench_startup_mark: y = x, and the first forward call in the process
// writes "keel-startup-mark NS CPU" to standard error, NS being
// CLOCK_MONOTONIC in nanoseconds (the clock every process on the machine
// shares) and CPU the process's CPU time so far in microseconds (user and
// system, all threads: what start-up cost where no other work waits for
// the same cores). Placed as
// the first node of a graph, it tells bench_startup when that graph's first
// node ran, against the time it started the process: nothing in the engine
// is instrumented for it.
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

#include "keel/keel.hpp"

namespace {

void write_mark() {
  static std::atomic<bool> written{false};
  if (written.exchange(true)) return;
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const long long cpu_us = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000LL +
                           usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
  char line[96];
  const int n = std::snprintf(line, sizeof line, "keel-startup-mark %lld %lld\n",
                              static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec, cpu_us);
  // One write, unbuffered: the line reaches the pipe now, whatever keel's
  // own stderr buffering.
  if (n > 0) (void)!::write(2, line, static_cast<std::size_t>(n));
}

class MarkOp final : public keel::Op {
 public:
  explicit MarkOp(const keel::Attrs&) {}
  keel::Status infer(keel::InferContext& ctx) const override {
    if (ctx.inputs.size() != 1)
      return keel::fail("bench_startup_mark: expected 1 input, got ", ctx.inputs.size());
    ctx.outputs = {ctx.inputs[0]};
    return keel::Status::Ok();
  }
  keel::Status forward(const keel::ForwardContext& ctx) override {
    write_mark();
    const keel::ConstTensorView& x = ctx.inputs[0];
    std::memcpy(ctx.outputs[0].data, x.data, x.nbytes());
    return keel::Status::Ok();
  }
};

keel::OpSchema mark_schema() {
  keel::OpSchema s;
  s.name = "bench_startup_mark";
  s.doc =
      "y = x; the process's first forward call writes the monotonic clock to stderr (start-up benchmark).";
  s.inputs = {{"x", "any tensor"}};
  s.outputs = {{"y", "a copy of x"}};
  return s;
}

void register_ops(keel::Registrar& r) { r.add(mark_schema(), keel::make_op<MarkOp>); }

}  // namespace

KEEL_PLUGIN("bench_startup_mark", "1.0.0", register_ops)
