// Plugins built against other SDK headers (tests/sdk/CMakeLists.txt copies
// sdk/include and changes one header): the runner compares one integer, the
// ABI version, as docs/abi.md promises.
#include <catch2/catch.hpp>
#include <string>

#include "cli_util.hpp"
#include "sdk_util.hpp"

using namespace keel::test;

namespace {

std::string dir(const char* variant) { return std::string(KEEL_SDK_WORK_DIR) + "/plugins/sdk_" + variant; }

}  // namespace

TEST_CASE("a plugin built with another SDK release of the same ABI loads") {
  // Its headers say SDK 2.7.0; only the ABI integer must agree.
  ProcessResult r = run_keel({"plugins", "--plugin-path", dir("other_release")});
  INFO(describe(r));
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("fixture_copy") != std::string::npos);
}

TEST_CASE("a plugin built for a newer plugin ABI is refused with one exact line") {
  ProcessResult r = run_keel({"plugins", "--plugin-path", dir("next_abi")});
  INFO(describe(r));
  CHECK(r.exit_code == 2);
  // This runner is ABI 4 (keel/abi.h); the variant's headers say 5.
  CHECK(r.err == "keel: error: " + dir("next_abi") +
                     "/keel_sdk_next_abi.so: built for plugin ABI version 5, this runner needs 4\n");
}
