// A plugin built against other SDK headers (tests/sdk/CMakeLists.txt copies
// sdk/include and changes version.hpp) is refused by the runner with both
// versions named, as docs/abi.md promises.
#include <catch2/catch.hpp>
#include <string>

#include "cli_util.hpp"
#include "keel/version.hpp"
#include "sdk_util.hpp"

using namespace keel::test;

namespace {

std::string dir(const char* variant) { return std::string(KEEL_SDK_WORK_DIR) + "/plugins/sdk_" + variant; }

}  // namespace

TEST_CASE("a plugin built with another SDK release is refused, naming both versions") {
  ProcessResult r = run_keel({"plugins", "--plugin-path", dir("next_release")});
  INFO(describe(r));
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line() ==
        "keel: error: " + dir("next_release") +
            "/keel_sdk_next_release.so: built with SDK version '9.9.0', this runner was "
            "built with '" KEEL_SDK_VERSION_STRING "'");
}

TEST_CASE("a plugin built for another plugin ABI is refused before anything else is read") {
  ProcessResult r = run_keel({"plugins", "--plugin-path", dir("next_abi")});
  INFO(describe(r));
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line() ==
        "keel: error: " + dir("next_abi") +
            "/keel_sdk_next_abi.so: built for plugin ABI version 99, this runner needs " +
            std::to_string(KEEL_ABI_VERSION));
}
