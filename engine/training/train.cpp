// `keel run` on a training graph: the checks `keel validate` shares, and a
// Trainer with the command line's observers.
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>

#include "base/error.hpp"
#include "distributed/group.hpp"
#include "planner/autodiff.hpp"
#include "training/console_observer.hpp"
#include "training/metrics_observer.hpp"
#include "training/optimizer_step.hpp"
#include "training/output_paths.hpp"
#include "training/phases.hpp"
#include "training/profile_observer.hpp"
#include "training/run_record_observer.hpp"
#include "training/sample_grid_observer.hpp"
#include "training/trainer.hpp"

namespace keel {

void check_train(const Plan& plan, const Registry& registry, const TrainDef& def) {
  check_output_names(plan.graph(), def);
  for (const PhaseSpec& phase : resolve_phases(plan, def)) {
    phase_gradients(plan, phase);
    try {
      OptimizerSteps::resolve(registry, *phase.optimizer, plan.graph());
    } catch (const Error& e) {
      if (phase.name.empty()) throw;
      throw Error(e.code(), phase_prefix(phase) + e.message(), e.loc(), e.subject());
    }
  }
  if (def.samples) check_samples(plan, registry, *def.samples);
  const auto& g = plan.graph();
  for (const auto& node : def.calibrate) {
    auto it = std::find_if(g.def.nodes.begin(), g.def.nodes.end(),
                           [&](const NodeDef& n) { return n.name == node; });
    if (it == g.def.nodes.end()) throw usage_error("calibrate: no node named '" + node + "'", g.loc(def.loc));
  }
}

TrainSummary train(Plan& plan, const Registry& registry, const TrainDef& def, const TrainOptions& options) {
  Trainer trainer(plan, registry, def, options);
  // Only rank 0 of a data-parallel run reports and writes files.
  if (options.group && !options.group->leader()) return trainer.run();
  const RunInfo& info = trainer.info();
  // The order is what a person sees: files are written before the console
  // says the run is over.
  std::optional<MetricsObserver> metrics;
  if (!def.metrics.empty()) metrics.emplace(options.output_dir / def.metrics, info.first_step > 0);
  RunRecordObserver record(plan, registry, def, options, info);
  std::optional<ProfileObserver> profile;
  if (options.profiler) profile.emplace(*options.profiler);
  ConsoleObserver console(options.quiet, ::isatty(2) != 0);
  std::optional<SampleGridObserver> samples;
  if (def.samples) samples.emplace(plan, registry, *def.samples, options.output_dir);
  if (metrics) trainer.add_observer(*metrics);
  if (samples) trainer.add_observer(*samples);
  trainer.add_observer(record);
  if (profile) trainer.add_observer(*profile);
  trainer.add_observer(console);
  return trainer.run();
}

}  // namespace keel
