// keel plugins [--json] [OP]: what the loader found, and each op's contract
// as its schema documents it.
#include <cstdio>
#include <string>

#include "base/error.hpp"
#include "base/json.hpp"
#include "base/suggest.hpp"
#include "cli/commands.hpp"
#include "cli/session.hpp"
#include "trust/policy.hpp"

namespace keel::cli {

namespace {

std::string number_text(double v) {
  std::string s = json_number(v);
  return s == "null" ? std::to_string(v) : s;
}

struct ValueText {
  bool json;
  std::string operator()(std::int64_t i) const { return std::to_string(i); }
  std::string operator()(double d) const { return number_text(d); }
  std::string operator()(bool b) const { return b ? "true" : "false"; }
  std::string operator()(const std::string& s) const { return json ? json_quote(s) : s; }
  template <class T>
  std::string operator()(const std::vector<T>& items) const {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) out += ", ";
      out += (*this)(items[i]);
    }
    return out + "]";
  }
};

std::string value_text(const AttrValue& v, bool json) { return std::visit(ValueText{json}, v); }

std::string range_text(const AttrSpec& a) {
  if (!a.choices.empty()) {
    std::string s = "one of ";
    for (std::size_t i = 0; i < a.choices.size(); ++i) {
      if (i) s += ", ";
      s += a.choices[i];
    }
    return s;
  }
  if (!a.min && !a.max) return "";
  std::string s = a.min ? "[" + number_text(*a.min) : std::string("(-inf");
  s += ", ";
  s += a.max ? number_text(*a.max) + "]" : std::string("inf)");
  return s;
}

void print_op_text(const OpEntry& e) {
  const OpSchema& s = e.schema;
  std::printf("%s  (plugin %s %s)\n  %s\n", s.name.c_str(), e.plugin->name.c_str(), e.plugin->version.c_str(),
              s.doc.c_str());
  auto ports = [](const char* title, const std::vector<PortSpec>& ps) {
    if (ps.empty()) return;
    std::printf("  %s:\n", title);
    for (const auto& p : ps)
      std::printf("    %-14s %s%s\n", p.name.c_str(), p.doc.c_str(),
                  p.differentiable ? "" : " (no gradient)");
  };
  ports("inputs", s.inputs);
  ports("outputs", s.outputs);
  if (!s.attrs.empty()) std::printf("  attributes:\n");
  for (const auto& a : s.attrs) {
    std::string head = a.name + ": " + attr_type_name(a.type) +
                       (a.default_value ? " = " + value_text(*a.default_value, false) : " (required)");
    std::string range = range_text(a);
    std::printf("    %-30s %s%s\n", head.c_str(), a.doc.c_str(), range.empty() ? "" : ("; " + range).c_str());
  }
  if (!s.params.empty()) std::printf("  parameters:\n");
  for (const auto& p : s.params)
    std::printf("    %-14s %s, init %s%s%s%s\n", p.name.c_str(), p.doc.c_str(), init_name(p.init),
                p.trainable ? "" : ", not trained", p.statistic == Statistic::none ? "" : ", calibrated: ",
                p.statistic == Statistic::none ? "" : statistic_name(p.statistic));
  std::printf("  backward: %s\n", s.has_backward ? "yes" : "no");
  if (s.role == Role::guard)
    std::printf("  role: guard (the engine acts on its outputs; see docs/graph-format.md)\n");
  if (s.role == Role::loss) std::printf("  role: loss (metric: %s)\n", metric_name(s.metric));
  if (s.role == Role::optimizer)
    std::printf("  role: optimizer (names a train: section's optimizer; see docs/graph-format.md)\n");
  if (s.batch_statistics)
    std::printf("  batch statistics: yes (training drops a one-row last batch unless drop_last: false)\n");
  if (s.inplace) std::printf("  in place: yes (y may overwrite x when x is not needed afterwards)\n");
}

std::string op_json(const OpEntry& e) {
  const OpSchema& s = e.schema;
  auto ports = [](const std::vector<PortSpec>& ps) {
    std::string out = "[";
    for (std::size_t i = 0; i < ps.size(); ++i)
      out += std::string(i ? "," : "") + "{\"name\":" + json_quote(ps[i].name) +
             ",\"doc\":" + json_quote(ps[i].doc) +
             ",\"differentiable\":" + (ps[i].differentiable ? "true" : "false") + "}";
    return out + "]";
  };
  std::string attrs = "[";
  for (std::size_t i = 0; i < s.attrs.size(); ++i) {
    const auto& a = s.attrs[i];
    attrs += std::string(i ? "," : "") + "{\"name\":" + json_quote(a.name) +
             ",\"type\":" + json_quote(attr_type_name(a.type)) + ",\"doc\":" + json_quote(a.doc) +
             ",\"required\":" + (a.default_value ? "false" : "true");
    if (a.default_value) attrs += ",\"default\":" + value_text(*a.default_value, true);
    if (a.min) attrs += ",\"min\":" + json_number(*a.min);
    if (a.max) attrs += ",\"max\":" + json_number(*a.max);
    if (!a.choices.empty()) {
      attrs += ",\"choices\":[";
      for (std::size_t c = 0; c < a.choices.size(); ++c) {
        if (c) attrs += ",";
        attrs += json_quote(a.choices[c]);
      }
      attrs += "]";
    }
    attrs += "}";
  }
  attrs += "]";
  std::string params = "[";
  for (std::size_t i = 0; i < s.params.size(); ++i)
    params += std::string(i ? "," : "") + "{\"name\":" + json_quote(s.params[i].name) +
              ",\"doc\":" + json_quote(s.params[i].doc) +
              ",\"init\":" + json_quote(init_name(s.params[i].init)) +
              ",\"trainable\":" + (s.params[i].trainable ? "true" : "false") +
              ",\"statistic\":" + json_quote(statistic_name(s.params[i].statistic)) + "}";
  params += "]";
  return "{\"name\":" + json_quote(s.name) + ",\"plugin\":" + json_quote(e.plugin->name) +
         ",\"doc\":" + json_quote(s.doc) + ",\"inputs\":" + ports(s.inputs) +
         ",\"outputs\":" + ports(s.outputs) + ",\"attrs\":" + attrs + ",\"params\":" + params +
         ",\"has_backward\":" + (s.has_backward ? "true" : "false") +
         ",\"role\":" + json_quote(role_name(s.role)) +
         ",\"batch_statistics\":" + (s.batch_statistics ? "true" : "false") +
         ",\"metric\":" + json_quote(metric_name(s.metric)) +
         ",\"inplace\":" + (s.inplace ? "true" : "false") + "}";
}

}  // namespace

int plugins(bool json, const std::string& op, const Common& common) {
  // A broken plugin does not hide the others: they are listed, then each
  // broken one is explained, and the exit code says something was wrong.
  std::vector<Error> broken;
  Registry registry = load_registry(common, &broken);
  auto explain_broken = [&] {
    for (const Error& e : broken) std::fprintf(stderr, "keel: error: %s\n", e.format().c_str());
    return broken.empty() ? 0 : static_cast<int>(ExitCode::usage);
  };
  if (!op.empty()) {
    const OpEntry* e = registry.find(op);
    if (!e) {
      explain_broken();  // the op may live in a plugin that failed to load
      throw usage_error("unknown op '" + op + "'" + did_you_mean(op, registry.op_names()));
    }
    if (json)
      std::printf("%s\n", op_json(*e).c_str());
    else
      print_op_text(*e);
    return explain_broken();
  }
  // Each plugin's signature state, against the trust folder's keys, shown
  // whether or not signatures are required.
  const std::filesystem::path trust_dir = trust::trust_dir(common.trust);
  std::vector<trust::PublicKey> keys;
  try {
    keys = trust::read_trusted_keys(trust_dir);
  } catch (const Error& e) {
    std::fprintf(stderr, "keel: warning: %s\n", e.format().c_str());
  }
  auto signature = [&](const PluginInfo& p) { return trust::signature_state(p.file, keys); };
  if (json) {
    std::string out = "{\"searched\":[";
    for (std::size_t i = 0; i < registry.searched.size(); ++i) {
      if (i) out += ",";
      out += json_quote(registry.searched[i].string());
    }
    out += "],\"plugins\":[";
    for (std::size_t i = 0; i < registry.plugins().size(); ++i) {
      const auto& p = *registry.plugins()[i];
      out += std::string(i ? "," : "") + "{\"name\":" + json_quote(p.name) +
             ",\"version\":" + json_quote(p.version) + ",\"file\":" + json_quote(p.file.string()) +
             ",\"signature\":" + json_quote(signature(p)) + ",\"ops\":[";
      for (std::size_t k = 0; k < p.ops.size(); ++k) {
        if (k) out += ",";
        out += op_json(*registry.find(p.ops[k]));
      }
      out += "],\"codecs\":[";
      for (std::size_t k = 0; k < p.codecs.size(); ++k)
        out += std::string(k ? "," : "") + "{\"name\":" + json_quote(p.codecs[k]) +
               ",\"doc\":" + json_quote(registry.find_codec(p.codecs[k])->doc) + "}";
      out += "]}";
    }
    std::printf("%s],\"trust\":%s,\"trusted_keys\":%zu}\n", out.c_str(),
                json_quote(trust_dir.string()).c_str(), keys.size());
    return explain_broken();
  }
  for (const auto& p : registry.plugins()) {
    std::printf("%s %s  %s\n  signature: %s\n", p->name.c_str(), p->version.c_str(), p->file.c_str(),
                signature(*p).c_str());
    for (const auto& name : p->ops)
      std::printf("  %-22s %s\n", name.c_str(), registry.find(name)->schema.doc.c_str());
    // File codecs (keel encrypt|decrypt --format NAME), after the ops.
    for (const auto& name : p->codecs)
      std::printf("  %-22s %s\n", ("format " + name).c_str(), registry.find_codec(name)->doc.c_str());
  }
  if (registry.plugins().empty()) std::printf("no plugins found\n");
  if (!common.quiet) {
    std::printf("searched:");
    for (const auto& d : registry.searched) std::printf(" %s", d.c_str());
    std::printf("\ntrusted keys: %zu in %s\n", keys.size(), trust_dir.c_str());
  }
  return explain_broken();
}

}  // namespace keel::cli
