#include "planner/init.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

#include "base/error.hpp"
#include "base/suggest.hpp"

namespace keel {

namespace {

struct Fans {
  double in = 1, out = 1;
};

Fans fans(const Shape& s) {
  if (s.empty()) return {};
  if (s.size() == 1) return {double(s[0]), double(s[0])};
  double receptive = 1;
  for (std::size_t i = 2; i < s.size(); ++i) receptive *= double(s[i]);
  return {double(s[1]) * receptive, double(s[0]) * receptive};
}

// Box-Muller on the uniforms 2i and 2i+1: element i of a normal stream
// depends only on i.
double normal_at(std::uint64_t key, std::uint64_t i) {
  double u1 = uniform_at(key, 2 * i);
  double u2 = uniform_at(key, 2 * i + 1);
  return std::sqrt(-2.0 * std::log1p(-u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// f32 storage for `t`, checked once for both initialize() overloads.
float* parameter_data(Tensor& t) {
  if (t.dtype() != DType::f32) throw std::logic_error("parameters are f32");
  return t.as<float>();
}

}  // namespace

void initialize(Tensor& t, const InitDef& init, std::uint64_t seed, std::string_view name) {
  float* p = parameter_data(t);
  const auto n = static_cast<std::uint64_t>(t.numel());
  const Fans f = fans(t.shape());
  const std::uint64_t key = stream_key(seed, name);
  const std::string& k = init.kind;
  auto arg = [&](std::size_t i, double fallback) { return i < init.args.size() ? init.args[i] : fallback; };
  auto fill_uniform = [&](double lo, double hi) {
    for (std::uint64_t i = 0; i < n; ++i) p[i] = float(lo + (hi - lo) * uniform_at(key, i));
  };
  auto fill_normal = [&](double stddev) {
    for (std::uint64_t i = 0; i < n; ++i) p[i] = float(normal_at(key, i) * stddev);
  };
  if (k == "zeros" || k == "ones" || k == "constant") {
    const auto v = float(k == "zeros" ? 0.0 : k == "ones" ? 1.0 : arg(0, 0.0));
    std::fill(p, p + n, v);
  } else if (k == "normal") {
    fill_normal(arg(0, 1.0));
  } else if (k == "uniform") {
    fill_uniform(arg(0, 0.0), arg(1, 1.0));
  } else if (k == "xavier") {
    const double bound = std::sqrt(6.0 / (f.in + f.out));
    fill_uniform(-bound, bound);
  } else if (k == "xavier_normal") {
    fill_normal(std::sqrt(2.0 / (f.in + f.out)));
  } else if (k == "kaiming") {
    const double bound = std::sqrt(6.0 / f.in);  // gain sqrt(2) (ReLU) times sqrt(3 / fan_in)
    fill_uniform(-bound, bound);
  } else if (k == "kaiming_normal") {
    fill_normal(std::sqrt(2.0 / f.in));
  } else {
    throw std::logic_error("initializer '" + k + "' passed the parser but is not implemented");
  }
}

void initialize_parameter(Tensor& t, const ParamSpec& spec, const GraphDef& graph, const std::string& name) {
  // Node names are identifiers, so the first dot ends the node's name.
  const auto dot = name.find('.');
  const std::string node = name.substr(0, dot), param = name.substr(dot + 1);
  for (const NodeDef& n : graph.nodes) {
    if (n.name != node) continue;
    if (auto it = n.init.find(param); it != n.init.end()) return initialize(t, it->second, graph.seed, name);
    break;
  }
  initialize(t, spec.init, graph.seed, name);
}

void check_node_inits(const ValidatedGraph& g) {
  for (std::size_t i = 0; i < g.def.nodes.size(); ++i) {
    const NodeDef& n = g.def.nodes[i];
    if (n.init.empty()) continue;
    const OpSchema& schema = g.nodes[i].entry->schema;
    std::vector<std::string> names;
    for (const ParamSpec& p : schema.params) names.push_back(p.name);
    for (const auto& [param, def] : n.init) {
      if (std::find(names.begin(), names.end(), param) != names.end()) continue;
      std::string hint = param.size() <= 64 ? did_you_mean(param, names) : std::string();
      if (names.empty())
        hint = " (it has no parameters)";
      else if (hint.empty()) {
        hint = " (its parameters:";
        for (std::size_t j = 0; j < names.size(); ++j) hint += (j ? ", " : " ") + names[j];
        hint += ")";
      }
      throw usage_error("init: op '" + schema.name + "' of node '" + n.name + "' has no parameter '" +
                            display_text(param) + "'" + hint,
                        g.loc(def.name_loc), g.subject(int(i)));
    }
  }
}

void initialize(Tensor& t, Init init, std::uint64_t seed, std::string_view name) {
  float* p = parameter_data(t);
  const auto n = static_cast<std::uint64_t>(t.numel());
  const Fans f = fans(t.shape());
  const std::uint64_t key = stream_key(seed, name);
  auto fill_uniform = [&](double bound) {
    for (std::uint64_t i = 0; i < n; ++i) p[i] = float((2 * uniform_at(key, i) - 1) * bound);
  };
  auto fill_normal = [&](double stddev) {
    for (std::uint64_t i = 0; i < n; ++i) p[i] = float(normal_at(key, i) * stddev);
  };
  switch (init) {
    case Init::Zeros:
      for (std::uint64_t i = 0; i < n; ++i) p[i] = 0.0f;
      break;
    case Init::Ones:
      for (std::uint64_t i = 0; i < n; ++i) p[i] = 1.0f;
      break;
    case Init::HeNormal:
      fill_normal(std::sqrt(2.0 / f.in));
      break;
    case Init::HeUniform:
      fill_uniform(std::sqrt(6.0 / f.in));
      break;
    case Init::XavierNormal:
      fill_normal(std::sqrt(2.0 / (f.in + f.out)));
      break;
    case Init::XavierUniform:
      fill_uniform(std::sqrt(6.0 / (f.in + f.out)));
      break;
  }
}

}  // namespace keel
