// keel check-op OP [--attrs K=V]... | --all: the SDK's conformance kit
// (keel/testing.hpp) run on ops of the loaded plugins, with the engine's own
// attribute typing so that values a schema rules out are known to be
// refused. Prints one line per check; a failed check is exit code 1.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "base/suggest.hpp"
#include "cli/commands.hpp"
#include "cli/session.hpp"
#include "graph/attrs.hpp"
#include "keel/testing.hpp"

namespace keel::cli {

namespace {

// What the op was doing, for the crash message: a fixed buffer, because the
// signal handler may only read memory and call write().
char g_stage[160] = "loading";

void set_stage(const std::string& op, std::string_view stage) {
  std::snprintf(g_stage, sizeof g_stage, "%s, %.*s", op.c_str(), static_cast<int>(stage.size()),
                stage.data());
}

extern "C" void on_crash(int sig) {
  const char* head = "keel: error: check-op: the op crashed (";
  const char* name = sig == SIGSEGV  ? "SIGSEGV"
                     : sig == SIGBUS ? "SIGBUS"
                     : sig == SIGFPE ? "SIGFPE"
                                     : "SIGABRT";
  ssize_t ignored = 0;
  ignored += ::write(2, head, std::strlen(head));
  ignored += ::write(2, name, std::strlen(name));
  ignored += ::write(2, ") in op ", 8);
  ignored += ::write(2, g_stage, std::strlen(g_stage));
  ignored += ::write(2, "\n", 1);
  (void)ignored;
  ::_exit(static_cast<int>(ExitCode::runtime));
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// An attribute value as a graph file would hold it: a scalar or [a, b].
AttrLiteral literal(const std::string& text) {
  AttrLiteral lit;
  const std::string t = trim(text);
  auto push = [&](const std::string& item) {
    lit.items.push_back(trim(item));
    lit.item_locs.push_back({});
    lit.item_quoted.push_back(false);
  };
  if (t.size() >= 2 && t.front() == '[' && t.back() == ']') {
    lit.is_list = true;
    const std::string body = t.substr(1, t.size() - 2);
    std::size_t start = 0;
    while (!trim(body).empty()) {
      const auto comma = body.find(',', start);
      push(body.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    push(t);
  }
  return lit;
}

// The engine's typing of one attribute, as `keel validate` applies it.
Status type_attr(const OpSchema& schema, const AttrSpec& spec, const std::string& text, AttrValue* value) {
  OpSchema one;
  one.name = schema.name;
  one.attrs = {spec};
  try {
    Attrs typed = typed_attrs(one, {{spec.name, literal(text)}}, "", {});
    if (value) *value = typed.values().at(spec.name);
  } catch (const Error& e) {
    return Status::Error(e.message());
  }
  return Status::Ok();
}

testing::Options options_for(const OpEntry& e, const std::vector<std::string>& attr_args) {
  const OpSchema& s = e.schema;
  testing::Options o;
  for (const std::string& arg : attr_args) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) throw usage_error("--attrs '" + arg + "': expected NAME=VALUE");
    const std::string name = arg.substr(0, eq);
    const AttrSpec* spec = nullptr;
    std::vector<std::string> names;
    for (const AttrSpec& a : s.attrs) {
      names.push_back(a.name);
      if (a.name == name) spec = &a;
    }
    if (!spec)
      throw usage_error("--attrs '" + arg + "': op '" + s.name + "' has no attribute '" + name + "'" +
                            did_you_mean(name, names),
                        {}, {"", s.name, e.plugin->name});
    AttrValue v;
    if (Status st = type_attr(s, *spec, arg.substr(eq + 1), &v); !st.ok())
      throw usage_error("--attrs '" + arg + "': " + st.message(), {}, {"", s.name, e.plugin->name});
    o.attrs[name] = v;
  }
  o.type_attr = [&s](const AttrSpec& spec, const std::string& text) {
    return type_attr(s, spec, text, nullptr);
  };
  o.on_stage = [name = s.name](std::string_view stage) { set_stage(name, stage); };
  return o;
}

// Runs the kit on one op; prints its report; returns the failure count.
std::size_t check_one(const OpEntry& e, const std::vector<std::string>& attr_args, const Common& common) {
  const testing::Options o = options_for(e, attr_args);
  set_stage(e.schema.name, "starting");
  const testing::Report report = testing::check_op(e.schema, e.factory, o);
  if (!common.quiet || !report.ok())
    std::printf("%s  (plugin %s %s)\n%s", e.schema.name.c_str(), e.plugin->name.c_str(),
                e.plugin->version.c_str(), report.text().c_str());
  std::fflush(stdout);
  return report.failures();
}

}  // namespace

int check_op(const std::string& op, bool all, const std::vector<std::string>& attr_args,
             const Common& common) {
  if (all == !op.empty()) throw usage_error("check-op: give one op name, or --all");
  if (all && !attr_args.empty()) throw usage_error("check-op: --attrs needs a single op, not --all");
  Registry registry = load_registry(common);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGABRT}) std::signal(sig, on_crash);

  if (!all) {
    const OpEntry* e = registry.find(op);
    if (!e) throw usage_error("unknown op '" + op + "'" + did_you_mean(op, registry.op_names()));
    const testing::Options o = options_for(*e, attr_args);
    set_stage(op, "starting");
    const testing::Report report = testing::check_op(e->schema, e->factory, o);
    std::printf("%s  (plugin %s %s)\n%s", op.c_str(), e->plugin->name.c_str(), e->plugin->version.c_str(),
                report.text().c_str());
    std::fflush(stdout);
    if (report.ok()) return 0;
    throw runtime_error("op '" + op + "' failed " + std::to_string(report.failures()) +
                            " conformance check(s); first: " + report.first_failure(),
                        {}, {"", op, e->plugin->name});
  }

  std::vector<std::string> failed;
  for (const std::string& name : registry.op_names())
    if (check_one(*registry.find(name), {}, common) > 0) failed.push_back(name);
  const std::size_t total = registry.op_names().size();
  if (failed.empty()) {
    std::printf("all %zu ops passed\n", total);
    return 0;
  }
  std::string list;
  for (const auto& f : failed) list += (list.empty() ? "" : ", ") + f;
  throw runtime_error(std::to_string(failed.size()) + " of " + std::to_string(total) +
                      " ops failed their conformance checks: " + list);
}

}  // namespace keel::cli
