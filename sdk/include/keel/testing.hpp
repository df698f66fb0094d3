// The conformance kit: checks that an op keeps the contract of keel/op.hpp,
// with nothing but the SDK, from any test framework (or none):
//
//   #include "keel/testing.hpp"
//   TEST_CASE("swish keeps the op contract") {
//     auto report = keel::testing::check_op(swish_schema(), keel::make_op<Swish>);
//     INFO(report.text());
//     CHECK(report.ok());
//   }
//
// `keel check-op OP` runs the same checks on an op of a loaded plugin, and
// adds the engine's attribute checks. For every example in the schema (or
// one f32 [batch, 4] tensor per input when there is none), the kit checks:
//   infer        pure, and the same with symbolic and bound dimensions;
//   forward      fills exactly the outputs infer reported (every element is
//                written, nothing past the end), in inference and training;
//   deterministic  two runs, and two fresh instances, give the same bytes
//                (skipped when the schema says deterministic = false);
//   backward     agrees with central finite differences of forward for
//                every differentiable floating input and trainable param;
//   concurrent   two instances running at once give the sequential result;
//   threads      an instance made and run with 1 OpenMP thread and one with
//                2 give the same bytes (when the process has an OpenMP
//                runtime; skipped for deterministic = false);
//   zero-size    all batch dimensions 0: works, or is refused with a message;
//   rejects      examples marked `rejects` are refused with that message;
//   attributes   values at the edges of declared ranges, and every choice,
//                are accepted or refused with a message (never a crash).
// Details of the finite differences are in keel/testing/gradcheck.hpp.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "keel/abi.h"
#include "keel/import.hpp"
#include "keel/op.hpp"
#include "keel/schema.hpp"
#include "keel/status.hpp"

namespace keel::testing {

enum class Outcome { passed, failed, skipped };

struct CheckResult {
  std::string name;  // "backward", "zero-size", ...
  Outcome outcome = Outcome::passed;
  std::string detail;  // what was measured, why it failed or was skipped
};

struct Report {
  std::string op;
  std::vector<CheckResult> checks;

  bool ok() const {
    for (const auto& c : checks)
      if (c.outcome == Outcome::failed) return false;
    return true;
  }
  std::size_t failures() const {
    std::size_t n = 0;
    for (const auto& c : checks) n += c.outcome == Outcome::failed;
    return n;
  }
  // The first failed check as "NAME: DETAIL", or empty.
  std::string first_failure() const {
    for (const auto& c : checks)
      if (c.outcome == Outcome::failed) return c.name + ": " + c.detail;
    return {};
  }
  // One line per check: "ok      NAME  DETAIL" / "FAILED  ..." / "skipped ...".
  std::string text() const {
    std::string out;
    for (const auto& c : checks) {
      const char* tag = c.outcome == Outcome::passed   ? "ok     "
                        : c.outcome == Outcome::failed ? "FAILED "
                                                       : "skipped";
      std::string name = c.name;
      name.resize(std::max<std::size_t>(name.size(), 13), ' ');
      out += std::string(tag) + " " + name + " " + c.detail + "\n";
    }
    return out;
  }
};

struct Options {
  // Attribute values used on top of every example's (from `--attrs k=v`).
  std::map<std::string, AttrValue> attrs;
  std::uint64_t seed = 1;
  // Elements per tensor whose gradient is compared (spread over the tensor).
  int gradient_samples = 32;
  // Optional: how the runner types an attribute written as text in a graph
  // file (keel check-op passes the engine's). With it, the kit also checks
  // that values the schema rules out are refused with a message.
  std::function<Status(const AttrSpec&, const std::string& text)> type_attr;
  // Optional: told the stage before each call into the op, so a host can
  // say where a crash happened.
  std::function<void(std::string_view)> on_stage;
};

Report check_op(const OpSchema& schema, const OpMaker& factory, const Options& options = {});

// The ops a plugin registers, obtained through its own C table exactly as
// the runner obtains them (keel/import.hpp): link the plugin's sources into
// the test and pass `*keel_get_plugin_table()`. Every call of an op made by
// `factory` crosses the C boundary.
struct RegisteredOp {
  OpSchema schema;
  OpMaker factory;
};

inline std::vector<RegisteredOp> ops_of(const keel_plugin_table& table) {
  std::vector<RegisteredOp> ops;
  for (ImportedOpEntry& e : import_plugin(table).ops) ops.push_back({std::move(e.schema), std::move(e.make)});
  return ops;
}

}  // namespace keel::testing

#include "keel/testing/conformance.hpp"
