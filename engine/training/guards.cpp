#include "training/guards.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "base/error.hpp"
#include "base/json.hpp"
#include "registry/plugin_call.hpp"
#include "training/sum_of_squares.hpp"

namespace keel {

namespace {

// The schema's choices were checked at validation; an action the SDK does
// not know (a guard that declared no choices) only reports.
GuardAction action_from(const std::string& s) {
  return guard_action_from_name(s).value_or(GuardAction::report);
}

bool is_string_attr(const Attrs& a, const char* name) {
  return a.has(name) && std::holds_alternative<std::string>(a.values().at(name));
}

// Largest per-parameter norms reported with a grad_norm event.
constexpr std::size_t kTopParams = 5;

// The names the guard role's contract gives (keel/schema.hpp, Role::guard;
// docs/sdk.md, "Guards"): what every guard declares, whichever plugin it
// comes from.
constexpr const char* kCheckAttr = "check";
constexpr const char* kActionAttr = "action";
constexpr const char* kLrFactorAttr = "lr_factor";   // optional, for rollback
constexpr const char* kGradientCheck = "grad_norm";  // the check that watches gradients

}  // namespace

Guards::Guards(Plan& plan, const Registry& registry, const GradientPlan* gradients,
               const std::vector<int>& other_losses, const std::vector<std::string>& left_out)
    : plan_(plan), gradients_(gradients) {
  const auto& graph = plan.graph();
  for (std::size_t i = 0; i < plan.nodes().size(); ++i) {
    const PlannedNode& pn = plan.nodes()[i];
    const ValidatedNode& vn = graph.nodes[std::size_t(pn.node)];
    const OpSchema& schema = vn.entry->schema;
    if (schema.role != Role::guard) continue;
    if (!pn.inputs.empty() &&
        std::find(other_losses.begin(), other_losses.end(), pn.inputs[0]) != other_losses.end())
      continue;  // another phase's guard
    const NodeDef& def = graph.def.nodes[std::size_t(pn.node)];
    if (std::find(left_out.begin(), left_out.end(), def.name) != left_out.end()) continue;
    const SourceLoc at = graph.loc(def.loc);
    if (schema.outputs.size() < 4 || !is_string_attr(vn.attrs, kCheckAttr) ||
        !is_string_attr(vn.attrs, kActionAttr))
      throw usage_error("op '" + schema.name +
                            "' declares itself a guard but lacks the guard contract (string attributes check "
                            "and action; outputs flag, score, limit, mask)",
                        at, graph.subject(pn.node));
    Guard g;
    g.plan_node = int(i);
    g.name = def.name;
    g.op = schema.name;
    g.check = vn.attrs.s(kCheckAttr);
    g.action = action_from(vn.attrs.s(kActionAttr));
    if (vn.attrs.has(kLrFactorAttr) && std::holds_alternative<double>(vn.attrs.values().at(kLrFactorAttr)))
      g.lr_factor = vn.attrs.f(kLrFactorAttr);
    g.rows = !pn.inputs.empty() && !plan.values()[std::size_t(pn.inputs[0])].shape.empty();
    g.gradient = g.check == kGradientCheck;
    if (!gradients && (g.gradient || g.action == GuardAction::skip_step || g.action == GuardAction::rollback))
      throw usage_error("guard '" + g.name + "': " +
                            (g.gradient ? std::string("check grad_norm watches gradients")
                                        : "action " + vn.attrs.s(kActionAttr) + " acts on training steps") +
                            "; this graph has no train: section",
                        at, graph.subject(pn.node));
    if (g.gradient) {
      // A second instance of the op, shaped for the vector of norms.
      const std::size_t n = gradients->trained_params.size();
      const std::vector<TensorSpec> in{{DType::f32, {Dim(n)}}};
      g.grad_op.emplace(registry.create(*vn.entry, vn.attrs));
      InferContext ictx;
      ictx.inputs = in;
      auto check = [&](const char* what, auto&& call) {
        const Status st = call_plugin(what, "", call);
        if (!st.ok()) throw usage_error(st.message(), at, graph.subject(pn.node));
      };
      check("infer", [&] { return (*g.grad_op)->infer(ictx); });
      std::vector<TensorSpec> param_specs;
      for (int p : pn.params) param_specs.push_back(plan.params()[std::size_t(p)].value.spec());
      bool same = ictx.param_shapes.size() == param_specs.size();
      for (std::size_t k = 0; same && k < param_specs.size(); ++k)
        same = ictx.param_shapes[k] == param_specs[k].shape;
      if (!same)
        throw usage_error("guard '" + g.name + "': its op gives other parameter shapes for gradient norms",
                          at, graph.subject(pn.node));
      // The counts keel/op.hpp promises: this op object is made outside the plan.
      if (ictx.outputs.size() != vn.entry->schema.outputs.size())
        throw usage_error("guard '" + g.name + "': its op's infer() reported " +
                              std::to_string(ictx.outputs.size()) +
                              " outputs for gradient norms; its schema declares " +
                              std::to_string(vn.entry->schema.outputs.size()),
                          at, graph.subject(pn.node));
      for (const auto& spec : ictx.outputs) g.grad_outputs.emplace_back(spec.dtype, spec.shape);
      check("prepare", [&] {
        return (*g.grad_op)->prepare(PrepareContext{in, ictx.outputs, param_specs, true});
      });
      norms_ = Tensor(DType::f32, {Dim(n)});
    }
    guards_.push_back(std::move(g));
  }
}

bool Guards::uses(GuardAction a) const {
  return std::any_of(guards_.begin(), guards_.end(), [&](const Guard& g) { return g.action == a; });
}

void Guards::run_gradient_guard(Guard& g, Executor& exec) {
  const PlannedNode& pn = plan_.nodes()[std::size_t(g.plan_node)];
  std::vector<ConstTensorView> in{std::as_const(norms_).view()};
  std::vector<TensorView> out, params;
  for (auto& t : g.grad_outputs) out.push_back(t.view());
  for (int p : pn.params) params.push_back(plan_.params()[std::size_t(p)].value.view());
  ForwardContext ctx{in, out, params, true, pn.seed, exec.step()};
  const Status st = call_plugin("forward", "forward failed: ", [&] { return (*g.grad_op)->forward(ctx); });
  const auto& graph = plan_.graph();
  if (!st.ok())
    throw runtime_error(st.message(), graph.loc(graph.def.nodes[std::size_t(pn.node)].loc),
                        graph.subject(pn.node));
}

std::vector<GuardEvent> Guards::check(Executor& exec, std::uint64_t step,
                                      const std::vector<std::size_t>* rows) {
  std::vector<GuardEvent> events;
  bool norms_ready = false;
  for (auto& g : guards_) {
    const PlannedNode& pn = plan_.nodes()[std::size_t(g.plan_node)];
    const Tensor *flag, *score, *limit, *mask;
    if (g.gradient) {
      if (!norms_ready) {
        for (std::size_t k = 0; k < gradients_->trained_params.size(); ++k) {
          const Tensor& grad = exec.param_grad(gradients_->trained_params[k]);
          norms_.as<float>()[k] = float(std::sqrt(sum_of_squares(grad.as<float>(), grad.numel())));
        }
        norms_ready = true;
      }
      run_gradient_guard(g, exec);
      flag = &g.grad_outputs[0], score = &g.grad_outputs[1], limit = &g.grad_outputs[2], mask = nullptr;
    } else {
      flag = &exec.value(pn.outputs[0]), score = &exec.value(pn.outputs[1]);
      limit = &exec.value(pn.outputs[2]), mask = &exec.value(pn.outputs[3]);
    }
    if (flag->numel() < 1 || flag->as<float>()[0] == 0.0f) continue;
    GuardEvent e;
    e.step = step;
    e.node = g.name;
    e.op = g.op;
    e.check = g.check;
    e.act = g.action;
    e.action = plan_.graph().nodes[std::size_t(pn.node)].attrs.s(kActionAttr);
    e.lr_factor = g.lr_factor;
    e.score = score->numel() ? double(score->as<float>()[0]) : NAN;
    e.threshold = limit->numel() ? double(limit->as<float>()[0]) : NAN;
    e.node_index = pn.node;
    if (g.rows && mask) {
      const bool mapped = rows && std::int64_t(rows->size()) == mask->numel();
      for (std::int64_t r = 0; r < mask->numel(); ++r)
        if (mask->as<float>()[r] != 0.0f)
          e.rows.push_back(mapped ? std::int64_t((*rows)[std::size_t(r)]) : r);
    }
    if (g.gradient) {
      for (std::size_t k = 0; k < gradients_->trained_params.size(); ++k)
        e.params.emplace_back(plan_.params()[std::size_t(gradients_->trained_params[k])].name,
                              double(norms_.as<float>()[k]));
      // Largest first; a NaN norm is the worst of all.
      auto key = [](double v) { return std::isnan(v) ? INFINITY : v; };
      std::stable_sort(e.params.begin(), e.params.end(),
                       [&](const auto& a, const auto& b) { return key(a.second) > key(b.second); });
      if (e.params.size() > kTopParams) e.params.resize(kTopParams);
    }
    events.push_back(std::move(e));
  }
  return events;
}

GuardAction most_severe(const std::vector<GuardEvent>& events) {
  GuardAction worst = GuardAction::report;
  for (const auto& e : events) worst = std::max(worst, e.act);
  return worst;
}

GuardReport::GuardReport(const std::filesystem::path& file, bool append) : file_(file), out_(file, append) {}

void GuardReport::add(const std::vector<GuardEvent>& events) {
  // One line, one write: the events before a crash are on disk, whole.
  for (const auto& e : events) {
    std::ostringstream line;
    line << "{\"step\":" << e.step << ",\"node\":" << json_quote(e.node) << ",\"op\":" << json_quote(e.op)
         << ",\"check\":" << json_quote(e.check) << ",\"action\":" << json_quote(e.action)
         << ",\"score\":" << json_number(e.score) << ",\"threshold\":" << json_number(e.threshold);
    if (!e.rows.empty()) {
      line << ",\"rows\":[";
      for (std::size_t i = 0; i < e.rows.size(); ++i) line << (i ? "," : "") << e.rows[i];
      line << "]";
    }
    if (!e.params.empty()) {
      line << ",\"parameters\":[";
      for (std::size_t i = 0; i < e.params.size(); ++i)
        line << (i ? "," : "") << "{\"name\":" << json_quote(e.params[i].first)
             << ",\"norm\":" << json_number(e.params[i].second) << "}";
      line << "]";
    }
    line << "}";
    out_.write_line(line.str());
    ++counts_[{e.node, e.check, e.action}];
    ++total_;
  }
}

void GuardReport::print_summary(std::FILE* out) const {
  std::fprintf(out, "guards: %zu event%s (%s)\n", total_, total_ == 1 ? "" : "s", file_.c_str());
  for (const auto& [key, n] : counts_)
    std::fprintf(out, "  %-16s %-11s %-10s %zu\n", std::get<0>(key).c_str(), std::get<1>(key).c_str(),
                 std::get<2>(key).c_str(), n);
}

Error guard_abort(const Plan& plan, const GuardEvent& e, const std::string& detail) {
  const auto& graph = plan.graph();
  return Error(ExitCode::anomaly,
               "guard '" + e.node + "' (" + e.check + ") fired at step " + std::to_string(e.step) +
                   ": score " + json_number(e.score) + ", threshold " + json_number(e.threshold) +
                   "; stopped (action abort)" + (detail.empty() ? "" : "; " + detail),
               graph.loc(graph.def.nodes[std::size_t(e.node_index)].loc), graph.subject(e.node_index));
}

}  // namespace keel
