// keel run / validate / graph.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>

#include "base/error.hpp"
#include "base/suggest.hpp"
#include "cli/commands.hpp"
#include "cli/session.hpp"
#include "executor/executor.hpp"
#include "graph/dot.hpp"
#include "planner/plan.hpp"
#include "runtime/npy.hpp"
#include "training/checkpoint.hpp"
#include "training/guards.hpp"
#include "training/trainer.hpp"

namespace keel::cli {

namespace fs = std::filesystem;

namespace {

// --input NAME=FILE pairs, checked against the graph's declared inputs.
std::vector<Tensor> read_inputs(const ValidatedGraph& graph, const std::vector<std::string>& pairs) {
  std::vector<std::string> names;
  for (const auto& in : graph.def.inputs) names.push_back(in.name);
  std::map<std::string, fs::path> files;
  for (const auto& p : pairs) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == p.size())
      throw usage_error("--input '" + p + "': expected NAME=FILE.npy");
    std::string name = p.substr(0, eq);
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw usage_error("--input '" + p + "': the graph has no input '" + name + "'" +
                        did_you_mean(name, names));
    if (!files.emplace(name, p.substr(eq + 1)).second)
      throw usage_error("--input '" + name + "' is given twice");
  }
  std::vector<Tensor> tensors;
  for (const auto& in : graph.def.inputs) {
    auto it = files.find(in.name);
    if (it == files.end())
      throw usage_error("graph input '" + in.name + "' has no data: pass --input " + in.name + "=FILE.npy",
                        graph.loc(in.loc));
    tensors.push_back(read_npy(it->second));
  }
  return tensors;
}

std::string output_file_name(const ValueRef& ref) { return ref.text() + ".npy"; }

}  // namespace

int run(const RunOptions& o, const Common& common) {
  if (o.threads > 0) {
    // oneDNN's OpenMP runtime reads this when its first parallel region
    // starts, which is after this point: no op has run yet.
    setenv("OMP_NUM_THREADS", std::to_string(o.threads).c_str(), 1);
  }
  Registry registry = load_registry(common);
  ValidatedGraph graph = load_graph(o.graph, o.overrides, registry, common);
  Plan plan(graph, registry);
  plan.infer_symbolic();  // every static check before any data is read
  if (!o.key_file.empty() && !o.passphrase_env.empty())
    throw usage_error("give at most one of --key-file and --passphrase-env");
  const KeySource cli_key{o.key_file, o.passphrase_env};
  if (!o.params.empty()) {
    // An encrypted checkpoint opens with the command line's key, else with
    // the one the training graph seals its checkpoints with.
    const KeySource key = !cli_key.empty() || !graph.def.train ? cli_key : graph.def.train->checkpoint.encrypt;
    load_checkpoint(o.params, plan, nullptr, {&registry, key});
  }
  if (graph.def.train) {
    if (!o.inputs.empty()) throw usage_error("--input: a training graph reads its data from train.data");
    train(plan, registry, *graph.def.train, {o.output_dir, o.resume, cli_key, common.quiet});
    return 0;
  }
  if (!o.resume.empty()) throw usage_error("--resume needs a graph with a train: section");
  Guards guards(plan, registry, nullptr);
  std::vector<Tensor> inputs = read_inputs(graph, o.inputs);

  Executor executor(plan);
  std::vector<Tensor> outputs = executor.run(inputs);

  std::error_code ec;
  fs::create_directories(o.output_dir, ec);
  if (ec) throw runtime_error("cannot create output folder '" + o.output_dir.string() + "': " + ec.message());
  if (!guards.empty()) {
    GuardReport report(o.output_dir / "anomalies.jsonl", false);
    const auto events = guards.check(executor, 0, nullptr);
    report.add(events);
    if (!common.quiet) report.print_summary(stdout);
    for (const auto& e : events)
      if (e.act == GuardAction::abort) throw guard_abort(plan, e, "no output was written");
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const fs::path file = o.output_dir / output_file_name(graph.def.outputs[i]);
    write_npy(file, outputs[i]);
    if (!common.quiet) std::printf("wrote %s  %s\n", file.c_str(), plan.describe(outputs[i].spec()).c_str());
  }
  return 0;
}

int validate(const fs::path& file, const std::vector<std::string>& overrides, const Common& common) {
  Registry registry = load_registry(common);
  ValidatedGraph graph = load_graph(file, overrides, registry, common);
  Plan plan(graph, registry);
  plan.infer_symbolic();
  if (graph.def.train)
    check_train(plan, registry, *graph.def.train);
  else
    Guards(plan, registry, nullptr);  // actions that need training are refused here too
  if (!common.quiet) {
    std::printf("%s: ok: %zu nodes, %zu inputs, %zu outputs, %zu parameters\n", file.c_str(),
                graph.nodes.size(), graph.def.inputs.size(), graph.def.outputs.size(), plan.params().size());
    for (std::size_t i = 0; i < graph.def.outputs.size(); ++i)
      std::printf("  output %s: %s\n", graph.def.outputs[i].text().c_str(),
                  plan.describe(plan.values()[std::size_t(plan.output_slots()[i])]).c_str());
  }
  return 0;
}

int graph(const fs::path& file, const std::string& format, const Common& common) {
  if (format != "dot") throw usage_error("--format '" + format + "' is not supported (supported: dot)");
  Registry registry = load_registry(common);
  ValidatedGraph g = load_graph(file, {}, registry, common);
  std::cout << graph_to_dot(g);
  return 0;
}

}  // namespace keel::cli
