#include "step_breakdown.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "bench_util.hpp"
#include "runtime/json_read.hpp"

namespace keel::bench {

namespace {

struct Span {
  std::string name, cat;
  double begin = 0, end = 0;  // seconds
  std::int64_t step = -1;
};

std::vector<Span> read_spans(const std::filesystem::path& trace) {
  std::ifstream in(trace, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw runtime_error("cannot read the trace '" + trace.string() + "'");
  const JsonValue doc = parse_json(text.str(), trace.string());
  const JsonValue* events = doc.find("traceEvents");
  if (!events || !events->is_array())
    throw runtime_error("the trace '" + trace.string() + "' has no traceEvents list");
  std::vector<Span> spans;
  for (const JsonValue& e : events->items) {
    const JsonValue *ph = e.find("ph"), *name = e.find("name"), *cat = e.find("cat"), *ts = e.find("ts"),
                    *dur = e.find("dur"), *args = e.find("args");
    if (!ph || ph->text != "X" || !name || !cat || !ts || !dur) continue;
    Span s{name->text, cat->text, ts->number * 1e-6, (ts->number + dur->number) * 1e-6, -1};
    if (const JsonValue* step = args ? args->find("step") : nullptr) s.step = step->to_int64().value_or(-1);
    spans.push_back(std::move(s));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  return spans;
}

}  // namespace

std::vector<StepParts> read_step_parts(const std::filesystem::path& trace, const ValidatedGraph& graph,
                                       const std::string& step_span, std::uint64_t first, std::uint64_t end) {
  std::map<std::string, std::string> op_of;  // node name -> op
  for (const auto& n : graph.def.nodes) op_of[n.name] = n.op;
  const std::vector<Span> spans = read_spans(trace);
  std::vector<StepParts> steps;
  for (const Span& step : spans) {
    if (step.name != step_span || step.step < std::int64_t(first) || step.step >= std::int64_t(end)) continue;
    StepParts p;
    p.total = step.end - step.begin;
    double first_node = step.end, last_backward = step.begin, nodes = 0, guards = 0;
    const Span* update = nullptr;
    // Spans are sorted by start: this step's begin at or after its own.
    for (auto it = std::lower_bound(spans.begin(), spans.end(), step.begin,
                                    [](const Span&s, double t) { return s.begin < t; });
         it != spans.end() && it->begin <= step.end; ++it) {
      if (it->end > step.end) continue;
      if (it->cat == "forward" || it->cat == "backward") {
        first_node = std::min(first_node, it->begin);
        if (it->cat == "backward") last_backward = std::max(last_backward, it->end);
        nodes += it->end - it->begin;
        auto& by_op = it->cat == "forward" ? p.forward : p.backward;
        by_op[op_of.count(it->name) ? op_of[it->name] : it->name] += it->end - it->begin;
      } else if (it->cat == "guard") {
        guards += it->end - it->begin;
      } else if (it->cat == "optimizer") {
        update = &*it;
      }
    }
    if (!update) continue;  // a skipped step: no update to compare
    p.before_nodes = first_node - step.begin;
    p.between_nodes = last_backward - first_node - nodes;
    p.guards = guards;
    p.grad_norm = update->begin - last_backward - guards;
    p.update = update->end - update->begin;
    p.after_update = step.end - update->end;
    steps.push_back(std::move(p));
  }
  return steps;
}

void print_breakdown(std::FILE* out, int threads, const std::vector<StepParts>& keel,
                     const std::vector<raw::FloorTimes>& floor, const AllocationStats& allocations) {
  using Part = raw::FloorTimes::Part;
  auto keel_median = [&](auto part) {
    std::vector<double> v;
    for (const StepParts& s : keel) v.push_back(part(s));
    return median(v);
  };
  // The floor's part, or with kTotal its whole step.
  constexpr int kTotal = -1;
  auto floor_median = [&](int part) {
    std::vector<double> v;
    for (const raw::FloorTimes& t : floor) {
      double total = 0;
      for (double s : t.s) total += s;
      v.push_back(part == kTotal ? total : t.s[part]);
    }
    return median(v);
  };
  const double step = keel_median([](const StepParts& s) { return s.total; });
  std::fprintf(out,
               "bench_floor, %d thread%s: where Keel's training step goes, against the floor (ms per step, "
               "medians of %zu steps under --profile)\n",
               threads, threads == 1 ? "" : "s", keel.size());
  std::fprintf(out, "  %-46s %9s %9s %9s %9s\n", "part", "keel", "floor", "beyond", "of step");
  auto row = [&](const std::string& name, double k, double f) {
    std::fprintf(out, "  %-46s %9.3f %9.3f %+9.3f %8.1f%%\n", name.c_str(), k * 1e3, f * 1e3, (k - f) * 1e3,
                 100.0 * (k - f) / step);
  };
  row("batch rows into tensors, binding (before nodes)",
      keel_median([](const StepParts& s) { return s.before_nodes; }), floor_median(Part::gather));
  // The floor's counterpart of each op's forward and backward calls; the
  // loss is one loop there, so it gets one row.
  struct Counterpart {
    int forward, backward;  // -1: none
    bool one_row;
  };
  const std::map<std::string, Counterpart> counterpart{
      {"linear", {Part::linear_forward, Part::linear_backward, false}},
      {"batchnorm", {Part::batchnorm_forward, Part::batchnorm_backward, false}},
      {"relu", {Part::relu_forward, Part::relu_backward, false}},
      {"residual", {Part::residual_forward, -1, false}},
      {"softmax_cross_entropy", {Part::loss, -1, true}}};
  std::vector<std::string> ops;
  for (const StepParts& s : keel)
    for (const auto* by_op : {&s.forward, &s.backward})
      for (const auto& [op, seconds] : *by_op)
        if (std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
  auto keel_op = [&](const std::string& op, bool forward, bool backward) {
    return keel_median([&](const StepParts& s) {
      return (forward && s.forward.count(op) ? s.forward.at(op) : 0.0) +
             (backward && s.backward.count(op) ? s.backward.at(op) : 0.0);
    });
  };
  auto floor_part = [&](int part) { return part < 0 ? 0.0 : floor_median(part); };
  for (const std::string& op : ops) {
    const auto it = counterpart.find(op);
    const Counterpart c = it == counterpart.end() ? Counterpart{-1, -1, false} : it->second;
    if (c.one_row) {
      row(op + " forward + backward", keel_op(op, true, true), floor_part(c.forward));
      continue;
    }
    row(op + " forward", keel_op(op, true, false), floor_part(c.forward));
    row(op + " backward", keel_op(op, false, true), floor_part(c.backward));
  }
  row("executor between nodes", keel_median([](const StepParts& s) { return s.between_nodes; }), 0);
  row("gradient norm, clipping factor", keel_median([](const StepParts& s) { return s.grad_norm; }),
      floor_median(Part::grad_norm));
  row("guards (after backward)", keel_median([](const StepParts& s) { return s.guards; }), 0);
  row("optimizer update", keel_median([](const StepParts& s) { return s.update; }),
      floor_median(Part::update));
  row("after the update (observers: steps.csv)",
      keel_median([](const StepParts& s) { return s.after_update; }), 0);
  row("step", step, floor_median(kTotal));
  std::fprintf(
      out,
      "  operator new in Keel's step: %.0f calls, %.1f KiB, %.3f ms with operator delete (the floor: "
      "none); tensors (aligned_alloc) are not counted\n",
      allocations.calls, allocations.bytes / 1024.0, allocations.seconds * 1e3);
}

}  // namespace keel::bench
