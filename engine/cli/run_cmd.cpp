// keel run / validate / graph.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "base/error.hpp"
#include "base/suggest.hpp"
#include "cli/commands.hpp"
#include "cli/graphviz.hpp"
#include "cli/session.hpp"
#include "distributed/group.hpp"
#include "executor/executor.hpp"
#include "graph/dot.hpp"
#include "images/graph_images.hpp"
#include "optimize/inference_passes.hpp"
#include "planner/plan.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/folder_lock.hpp"
#include "runtime/npy.hpp"
#include "training/checkpoint.hpp"
#include "training/guards.hpp"
#include "training/output_paths.hpp"
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

// Runs `draw`, placing a usage error of the picture at its `images:` entry.
template <class F>
void at_image_entry(const ValidatedGraph& graph, const ImageDef& d, F&& draw) {
  try {
    draw();
  } catch (const Error& e) {
    if (e.code() != ExitCode::usage || e.loc().line) throw;
    throw Error(e.code(), e.message(), graph.loc(d.loc));
  }
}

// Every `images:` entry against its output's inferred shape (a symbolic
// image count is fine), so a picture that cannot be drawn is refused before
// anything runs.
void check_images(const ValidatedGraph& graph, const Plan& plan) {
  for (const ImageDef& d : graph.def.images) {
    const TensorSpec& spec =
        plan.values()[std::size_t(plan.output_slots()[image_output_index(graph.def, d)])];
    at_image_entry(graph, d,
                   [&] { image_layout(spec.dtype, spec.shape, image_grid(d), "output '" + d.output + "'"); });
  }
}

std::string mib(std::size_t bytes) {
  char buf[32];
  if (bytes < (1 << 20))
    std::snprintf(buf, sizeof buf, "%.1f KiB", double(bytes) / (1 << 10));
  else
    std::snprintf(buf, sizeof buf, "%.2f MiB", double(bytes) / (1 << 20));
  return buf;
}

// --stats: the memory plan's peak against one buffer per tensor, then the
// time of each node, forward and backward, per call.
void print_stats(const Plan& plan, const Executor& exec) {
  const ExecutorStats& st = exec.stats();
  const auto& graph = plan.graph();
  std::printf("tensor memory: peak %s, naive sum of all tensors %s (%.0f%%)\n", mib(st.peak_bytes).c_str(),
              mib(st.naive_bytes).c_str(),
              st.naive_bytes ? 100.0 * double(st.peak_bytes) / double(st.naive_bytes) : 100.0);
  std::size_t width = 4, op_width = 2;
  for (const auto& n : plan.nodes()) {
    width = std::max(width, graph.def.nodes[std::size_t(n.node)].name.size());
    op_width = std::max(op_width, graph.def.nodes[std::size_t(n.node)].op.size());
  }
  std::printf("%-*s  %-*s %8s %12s %8s %12s %10s\n", int(width), "node", int(op_width), "op", "forward",
              "ms/call", "backward", "ms/call", "total ms");
  double total = 0;
  for (std::size_t i = 0; i < plan.nodes().size(); ++i) {
    const auto& def = graph.def.nodes[std::size_t(plan.nodes()[i].node)];
    const double f = st.forward_seconds[i] * 1e3, b = st.backward_seconds[i] * 1e3;
    const auto fc = st.forward_calls[i], bc = st.backward_calls[i];
    total += f + b;
    std::printf("%-*s  %-*s %8llu %12.4f %8llu %12.4f %10.2f\n", int(width), def.name.c_str(), int(op_width),
                def.op.c_str(), static_cast<unsigned long long>(fc), fc ? f / double(fc) : 0.0,
                static_cast<unsigned long long>(bc), bc ? b / double(bc) : 0.0, f + b);
  }
  std::printf("%-*s  %-*s %8s %12s %8s %12s %10.2f\n", int(width), "all", int(op_width), "", "", "", "", "",
              total);
}

// --stats of a data-parallel run: what summing gradients cost (bench/run
// --distributed reads this line).
void print_distributed_stats(const DistributedStats& d) {
  const double share = d.step_seconds > 0 ? 100.0 * d.wait_seconds / d.step_seconds : 0.0;
  std::printf(
      "distributed: %d ranks, %zu buckets, %.1f MB of gradients per step; waited %.3f s for allreduce "
      "(%.1f%% of %.2f s of steps)\n",
      d.ranks, d.buckets, double(d.gradient_bytes) / 1e6, d.wait_seconds, share, d.step_seconds);
}

}  // namespace

int run(const RunOptions& o, const Common& common) {
  if (!o.profile.empty()) {
    check_output_target(o.profile);  // refuse a device or FIFO before running
    const fs::path folder = o.profile.parent_path().empty() ? fs::path(".") : o.profile.parent_path();
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
      throw usage_error("--profile '" + printable(o.profile.string(), 200) + "': the folder '" +
                        printable(folder.string(), 200) + "' does not exist");
  }
  // The cores are divided between inter-op threads (nodes at once) and
  // each node's OpenMP threads (docs/cli.md). oneDNN's OpenMP runtime reads
  // OMP_NUM_THREADS when it is loaded with the first plugin, after this point.
  const ThreadPolicy threads = thread_policy(o.threads, o.inter_op);
  // Started by an MPI launcher: this process is one rank of a data-parallel
  // run (docs/distributed.md); MPI is loaded only then.
  std::unique_ptr<dist::Group> group = dist::Group::join_if_launched();
  const bool writes = !group || group->leader();
  if (o.threads > 0 || o.inter_op > 1) setenv("OMP_NUM_THREADS", std::to_string(threads.intra_op).c_str(), 1);
  std::unique_ptr<Profiler> profiler = o.profile.empty() || !writes ? nullptr : std::make_unique<Profiler>();
  auto write_profile = [&] {
    if (!profiler) return;
    profiler->write_chrome_trace(o.profile);
    if (!common.quiet) std::printf("wrote %s\n", o.profile.c_str());
  };
  Registry registry = load_registry(common);
  ValidatedGraph graph = load_graph(o.graph, o.overrides, registry, common);
  Plan plan(graph, registry);
  plan.infer_symbolic();  // every static check before any data is read
  check_images(graph, plan);
  if (!o.key_file.empty() && !o.passphrase_env.empty())
    throw usage_error("give at most one of --key-file and --passphrase-env");
  const KeySource cli_key{o.key_file, o.passphrase_env};
  if (!o.params.empty() && !o.resume.empty())
    throw usage_error(
        "give --params or --resume, not both: a resumed run takes its parameters from the checkpoint");
  if (!o.params.empty()) {
    // An encrypted checkpoint opens with the command line's key, else with
    // the one the training graph seals its checkpoints with.
    const KeySource key =
        !cli_key.empty() || !graph.def.train ? cli_key : graph.def.train->checkpoint.encrypt;
    load_checkpoint(o.params, plan, nullptr, {&registry, key, o.allow_plaintext});
  }
  if (graph.def.train) {
    if (!o.inputs.empty()) throw usage_error("--input: a training graph reads its data from train.data");
    TrainOptions train_options{o.output_dir, o.resume, cli_key, common.quiet};
    train_options.allow_plaintext = o.allow_plaintext;
    train_options.allow_resume_mismatch = o.allow_resume_mismatch;
    train_options.inter_op = threads.inter_op;
    train_options.profiler = profiler.get();
    train_options.time_nodes = o.stats;
    train_options.threads = threads.total;
    train_options.tune_threads = o.threads == 0;
    train_options.group = group.get();
    if (!o.profile.empty()) train_options.profile = fs::absolute(o.profile);
    if (o.stats) train_options.on_finish = [&](const Executor& exec) { print_stats(plan, exec); };
    TrainSummary summary;
    try {
      summary = train(plan, registry, *graph.def.train, train_options);
    } catch (const Error& e) {
      // Every rank stops on the step a guard aborted: they leave together,
      // so none takes another's exit for a lost rank.
      if (group && e.code() == ExitCode::anomaly) group->shut_down();
      if (!writes) throw;
      // A run a guard stopped is one to look at: its report shows why.
      if (e.code() == ExitCode::anomaly && graph.def.train->report)
        report_after_training(o.output_dir, common);
      throw;
    }
    if (group) {
      if (writes && o.stats) print_distributed_stats(summary.distributed);
      group->shut_down();
      if (!writes) return 0;
    }
    write_profile();
    if (graph.def.train->report && !summary.stopped_by_signal) report_after_training(o.output_dir, common);
    // 128 + N, what a shell reports for a process that signal N ended.
    return summary.stopped_by_signal ? 128 + summary.stopped_by_signal : 0;
  }
  if (!o.resume.empty()) throw usage_error("--resume needs a graph with a train: section");
  if (group)
    throw usage_error(
        "'" + o.graph.string() +
        "' has no train: section; under an MPI launcher keel run trains data-parallel, and runs "
        "inference only without one (docs/distributed.md)");
  // Inference runs the optimized graph (docs/graph-format.md, "Inference
  // optimizations"); inputs, outputs and images are the written graph's.
  std::unique_ptr<OptimizedPlan> optimized;
  if (!o.no_optimize) optimized = optimize_for_inference(graph, plan, registry);
  if (optimized && o.stats)
    for (const std::string& c : optimized->changes) std::printf("optimized: %s\n", c.c_str());
  Plan& run_plan = optimized ? *optimized->plan : plan;
  Guards guards(run_plan, registry, nullptr);
  std::vector<Tensor> inputs = read_inputs(graph, o.inputs);
  check_output_locations(graph, nullptr, o.output_dir);  // before running anything

  Executor executor(run_plan, make_scheduler(threads.inter_op));
  executor.set_profiler(profiler.get());
  executor.time_nodes(o.stats);
  std::vector<Tensor> outputs = executor.run(inputs);

  // The pictures are drawn before anything is written (their image count
  // is known only now), so one that cannot be drawn leaves nothing.
  std::vector<std::string> pictures;
  for (const ImageDef& d : graph.def.images)
    at_image_entry(graph, d, [&] {
      pictures.push_back(encode_png(
          grid_image(outputs[image_output_index(graph.def, d)], image_grid(d), "output '" + d.output + "'")));
    });

  std::error_code ec;
  fs::create_directories(o.output_dir, ec);
  if (ec) throw runtime_error("cannot create output folder '" + o.output_dir.string() + "': " + ec.message());
  const FolderLock lock(o.output_dir);  // one run per output folder
  if (!guards.empty()) {
    GuardReport report(o.output_dir / "anomalies.jsonl", false);
    const auto events = guards.check(executor, 0, nullptr);
    report.add(events);
    if (!common.quiet) report.print_summary(stdout);
    for (const auto& e : events)
      if (e.act == GuardAction::abort) throw guard_abort(run_plan, e, "no output was written");
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const fs::path file = o.output_dir / output_file_name(graph.def.outputs[i]);
    write_npy(file, outputs[i]);
    if (!common.quiet)
      std::printf("wrote %s  %s\n", file.c_str(), run_plan.describe(outputs[i].spec()).c_str());
  }
  for (std::size_t i = 0; i < pictures.size(); ++i) {
    const fs::path file = o.output_dir / (graph.def.images[i].output + ".png");
    write_file_atomically(file, [&](std::ostream& out) { out << pictures[i]; });
    if (!common.quiet) std::printf("wrote %s\n", file.c_str());
  }
  write_profile();
  if (o.stats) print_stats(run_plan, executor);
  return 0;
}

int validate(const fs::path& file, const std::vector<std::string>& overrides, const Common& common) {
  Registry registry = load_registry(common);
  ValidatedGraph graph = load_graph(file, overrides, registry, common);
  Plan plan(graph, registry);
  plan.infer_symbolic();
  check_images(graph, plan);
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

int graph(const fs::path& file, const std::string& format, const fs::path& output, const Common& common) {
  if (format != "dot" && format != "svg" && format != "png")
    throw usage_error("--format '" + format + "' is not supported (supported: dot, svg, png)");
  Registry registry = load_registry(common);
  ValidatedGraph g = load_graph(file, {}, registry, common);
  const std::string dot = graph_to_dot(g);
  const std::string bytes = format == "dot" ? dot : render_with_graphviz(dot, format);
  if (output.empty()) {
    errno = 0;
    std::cout << bytes << std::flush;
    if (!std::cout)
      throw runtime_error(std::string("cannot write to standard output") + (errno ? ": " : "") +
                          (errno ? std::strerror(errno) : ""));
  } else {
    write_file_atomically(output, [&](std::ostream& out) { out << bytes; });
  }
  return 0;
}

}  // namespace keel::cli
