#include "floor_pass.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "allocation_count.hpp"
#include "bench_util.hpp"
#include "graph/train_def.hpp"
#include "training/metrics_observer.hpp"
#include "training/profile_observer.hpp"
#include "training/run_record_observer.hpp"
#include "training/trainer.hpp"

namespace keel::bench {

namespace {

// Copies Keel's parameters and running statistics into the floor; every
// nonempty parameter of Keel's must have a place there.
void start_floor_from(raw::FloorStep& floor, const Plan& plan) {
  const std::vector<raw::FloorTensor> tensors = floor.tensors();
  for (const Parameter& p : plan.params()) {
    if (p.value.numel() == 0) continue;  // an unused residual projection or gain
    const auto t = std::find_if(tensors.begin(), tensors.end(),
                                [&](const raw::FloorTensor& f) { return f.name == p.name; });
    if (t == tensors.end() || t->size != p.value.numel())
      throw runtime_error("the floor has no parameter '" + p.name +
                          "' of Keel's size: floor_step.hpp no longer builds bench/graphs/large_train.yaml");
    std::memcpy(t->data, p.value.data(), p.value.nbytes());
  }
  floor.restart();
}

// After the first step of both: the same loss, gradient norm and parameters.
// Rounding differs (other kernels, other summation orders), and where a
// pre-activation lies within rounding of zero the two relu masks can differ,
// which changes that element's gradient outright: so each tensor may have
// a few elements (at most 1%) beyond rounding, none beyond 1e-4 of its
// scale. A different update rule (weight decay, momentum, clipping) moves
// nearly every element by more than rounding.
std::string check_same_step(raw::FloorStep& floor, const Plan& plan, double floor_loss,
                            const StepInfo& keel) {
  auto close = [](double a, double b, double tol) {
    return std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b));
  };
  if (!close(floor_loss, keel.loss, 1e-5) || !close(floor.grad_norm(), keel.grad_norm, 1e-4))
    throw runtime_error("the floor does not compute Keel's step: loss " + std::to_string(floor_loss) +
                        " vs " + std::to_string(keel.loss) + ", gradient norm " +
                        std::to_string(floor.grad_norm()) + " vs " + std::to_string(keel.grad_norm));
  double worst = 0;
  std::string worst_name;
  std::int64_t beyond_rounding = 0;
  for (const raw::FloorTensor& t : floor.tensors()) {
    const float* k = find_param(plan, t.name)->value.as<float>();
    double scale = 0;
    for (std::int64_t i = 0; i < t.size; ++i) scale = std::max(scale, double(std::fabs(k[i])));
    const double rounding = 5e-8 + 1e-6 * scale, limit = 1e-4 * std::max(1.0, scale);
    double diff = 0;
    std::int64_t beyond = 0;
    for (std::int64_t i = 0; i < t.size; ++i) {
      const double d = std::fabs(double(t.data[i]) - double(k[i]));
      diff = std::max(diff, d);
      beyond += d > rounding;
    }
    if (diff > limit || beyond > std::max<std::int64_t>(1, t.size / 100))
      throw runtime_error("the floor does not compute Keel's step: after it, " + t.name +
                          " differs by up to " + std::to_string(diff) + " (values up to " +
                          std::to_string(scale) + "), " + std::to_string(beyond) + " of " +
                          std::to_string(t.size) + " elements by more than rounding");
    if (diff >= worst) worst = diff, worst_name = t.name;
    beyond_rounding += beyond;
  }
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "loss %.6f vs %.6f, gradient norm %.4f vs %.4f, largest parameter difference %.2g (%s), "
                "%lld elements beyond rounding",
                floor_loss, keel.loss, floor.grad_norm(), keel.grad_norm, worst, worst_name.c_str(),
                static_cast<long long>(beyond_rounding));
  return buf;
}

// Times each Keel step up to its own on_step, then runs and times the
// floor's step on the same rows; stops the trainer after the last step.
class Interleave final : public TrainObserver {
 public:
  Interleave(const PassSetup& setup, Trainer& trainer, const Plan& plan)
      : setup_(setup),
        trainer_(trainer),
        plan_(plan),
        batch_(std::size_t(setup.graph.def.train->data.batch)),
        steps_(std::uint64_t(setup.graph.def.train->steps)),
        span_name_(setup.profiler ? setup.profiler->name_id(setup.step_span) : 0) {}

  void on_phase_begin(Phase phase, std::int64_t) noexcept override {
    if (phase != Phase::step) return;
    allocations0_ = allocations_so_far();
    begin_ = Clock::now();
  }

  void on_step(const StepInfo& s) override {
    const auto end = Clock::now();
    const AllocationCount allocations = allocations_so_far();
    if (setup_.profiler)
      setup_.profiler->record(Profiler::Kind::step, span_name_, begin_, end, std::int64_t(s.step));
    const bool timed = s.step >= setup_.warmup;
    if (timed) {
      result_.keel.push_back(std::chrono::duration<double>(end - begin_).count());
      allocation_calls_.push_back(double(allocations.calls - allocations0_.calls));
      allocation_bytes_.push_back(double(allocations.bytes - allocations0_.bytes));
      allocation_seconds_.push_back(double(allocations.nanoseconds - allocations0_.nanoseconds) * 1e-9);
    }
    raw::FloorTimes parts;
    const auto t0 = Clock::now();
    const double loss =
        setup_.floor.step(setup_.order.data() + s.step * batch_, timed && setup_.profiler ? &parts : nullptr);
    const double floor_seconds = seconds_since(t0);
    if (s.step == 0) result_.check = check_same_step(setup_.floor, plan_, loss, s);
    if (timed) result_.floor.push_back(floor_seconds), result_.floor_parts.push_back(parts);
    if (s.step + 1 >= steps_) trainer_.request_stop();
  }

  PassResult result() const {
    PassResult r = result_;
    r.allocations = {median(allocation_calls_), median(allocation_bytes_), median(allocation_seconds_)};
    return r;
  }

 private:
  const PassSetup& setup_;
  Trainer& trainer_;
  const Plan& plan_;
  std::size_t batch_;
  std::uint64_t steps_;
  int span_name_;
  Clock::time_point begin_;
  AllocationCount allocations0_;
  std::vector<double> allocation_calls_, allocation_bytes_, allocation_seconds_;  // per timed step
  PassResult result_;
};

}  // namespace

const Parameter* find_param(const Plan& plan, const std::string& name) {
  for (const Parameter& p : plan.params())
    if (p.name == name) return &p;
  return nullptr;
}

PassResult run_pass(const PassSetup& setup) {
  Plan plan(setup.graph, setup.registry);
  plan.infer_symbolic();
  const TrainDef& def = *setup.graph.def.train;
  TrainOptions options;
  options.output_dir = setup.output_dir;
  options.quiet = true;
  options.threads = setup.threads;
  options.profiler = setup.profiler;
  Trainer trainer(plan, setup.registry, def, options);
  start_floor_from(setup.floor, plan);
  // The observers keel::train() adds, in its order; Interleave last, since
  // the steps are timed up to its on_step.
  const RunInfo& info = trainer.info();
  std::optional<MetricsObserver> metrics;
  if (!def.metrics.empty()) metrics.emplace(setup.output_dir / def.metrics, false);
  RunRecordObserver record(plan, setup.registry, def, options, info);
  std::optional<ProfileObserver> profile;
  if (setup.profiler) profile.emplace(*setup.profiler);
  Interleave interleave(setup, trainer, plan);
  if (metrics) trainer.add_observer(*metrics);
  trainer.add_observer(record);
  if (profile) trainer.add_observer(*profile);
  trainer.add_observer(interleave);
  time_allocations(setup.profiler != nullptr);
  trainer.run();
  time_allocations(false);
  PassResult r = interleave.result();
  if (r.keel.size() + setup.warmup != std::uint64_t(def.steps))
    throw runtime_error("the trainer ran " + std::to_string(r.keel.size() + setup.warmup) + " steps, not " +
                        std::to_string(def.steps));
  return r;
}

}  // namespace keel::bench
