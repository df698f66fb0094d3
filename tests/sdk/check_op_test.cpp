// keel check-op: every registered op passes the conformance kit, whatever
// plugins are bundled now or later; each way of breaking the op contract in
// tests/sdk/fixtures/broken_ops.cpp fails with a message that says which.
#include <catch2/catch.hpp>
#include <string>

#include "cli_util.hpp"
#include "sdk_util.hpp"

using namespace keel::test;

namespace {

const std::string kBroken = std::string(KEEL_SDK_WORK_DIR) + "/plugins/broken_ops";

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

}  // namespace

TEST_CASE("every registered op passes keel check-op") {
  ProcessResult list = run_keel({"plugins", "--json"});
  REQUIRE(list.exit_code == 0);
  const std::size_t ops = count(list.out, "\"has_backward\"");  // one per op
  REQUIRE(ops >= 20);
  ProcessResult r = run_keel({"check-op", "--all"});
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("all " + std::to_string(ops) + " ops passed") != std::string::npos);
  CHECK(count(r.out, "FAILED") == 0);
}

TEST_CASE("keel check-op fails an op that breaks the contract, saying how") {
  const std::pair<const char*, const char*> cases[] = {
      {"wrong_gradient", "backward: differs from central finite differences: input 'x' element"},
      {"partial_write", "forward does not write every element of f32 [3, 4]"},
      {"overrun", "forward wrote past the end of output 'y'"},
      {"nondeterministic", "two forward calls with the same inputs, seed and step differ"},
      {"accepts_invalid",
       "accepted, but the example says it must be refused with 'level 7 is not supported'"},
      {"unsafe_inplace",
       "in place: forward with output 'y' over input 'x' differs from forward into a separate buffer"},
  };
  for (const auto& [op, message] : cases) {
    DYNAMIC_SECTION(op) {
      ProcessResult r = run_keel({"check-op", op, "--plugin-path", kBroken});
      INFO(describe(r));
      CHECK(r.exit_code == 1);
      const std::string first = r.first_err_line();
      CHECK(first.rfind("keel: error: op '" + std::string(op) + "' failed ", 0) == 0);
      CHECK(first.find(" conformance check(s); first: ") != std::string::npos);
      CHECK(first.find(message) != std::string::npos);
      CHECK(first.find("plugin 'broken_ops'") != std::string::npos);
      CHECK(count(r.err, "\n") == 1);  // one line
    }
  }
}

TEST_CASE("keel check-op reports an op that crashes, and where") {
  ProcessResult r = run_keel({"check-op", "crashes", "--plugin-path", kBroken});
  INFO(describe(r));
  CHECK(r.exit_code == 1);
  CHECK(r.first_err_line() == "keel: error: check-op: the op crashed (SIGSEGV) in op crashes, forward");
}

TEST_CASE("keel check-op --all fails when any op fails, naming them") {
  ProcessResult r = run_keel({"check-op", "--all", "--plugin-path", kBroken});
  INFO(describe(r));
  CHECK(r.exit_code == 1);
  // crashes is checked first (names are sorted) and ends the process.
  CHECK(r.first_err_line().find("the op crashed (SIGSEGV) in op crashes") != std::string::npos);
}

TEST_CASE("keel check-op takes attribute values, typed as a graph file's") {
  ProcessResult ok = run_keel({"check-op", "linear", "--attrs", "units=5"});
  INFO(describe(ok));
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("f32 [3, 4] -> f32 [3, 5]") != std::string::npos);

  ProcessResult range = run_keel({"check-op", "linear", "--attrs", "units=0"});
  CHECK(range.exit_code == 2);
  CHECK(range.first_err_line().find("--attrs 'units=0': attribute 'units' = 0 is out of range") !=
        std::string::npos);

  ProcessResult unknown = run_keel({"check-op", "linear", "--attrs", "unit=5"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.first_err_line().find("has no attribute 'unit' (did you mean 'units'?)") !=
        std::string::npos);
}

TEST_CASE("keel check-op refuses bad usage with exit code 2") {
  ProcessResult unknown = run_keel({"check-op", "lineer"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.first_err_line().find("unknown op 'lineer'") != std::string::npos);
  ProcessResult neither = run_keel({"check-op"});
  CHECK(neither.exit_code == 2);
  CHECK(neither.first_err_line() == "keel: error: check-op: give one op name, or --all");
}
