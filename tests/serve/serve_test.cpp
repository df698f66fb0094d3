// keel serve end to end: each case runs one scenario of serve_check.py,
// which starts the server and checks it over HTTP with Python's own client
// against what `keel run` writes for the same inputs.
#include <catch2/catch.hpp>

#include "cli_util.hpp"

namespace {

void scenario(const std::string& name) {
  keel::test::TempDir dir;
  const auto r = keel::test::run_python(
      std::string(KEEL_SOURCE_DIR) + "/tests/serve/serve_check.py",
      {std::string(KEEL_BUILD_DIR) + "/bin/keel", KEEL_SOURCE_DIR, (dir / "work").string(), name});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("ok\n") != std::string::npos);
}

}  // namespace

TEST_CASE("serve answers as keel run does, in JSON and .npy, and lists its models, health and metrics") {
  scenario("correctness");
}

TEST_CASE("serve answers each malformed request with its status and one line, and keeps serving") {
  scenario("malformed");
}

TEST_CASE(
    "serve flags the rows its guards mask, as keel run does, and rejects with 422 under a rejecting guard") {
  scenario("guards");
}

TEST_CASE("serve batches concurrent requests and answers each exactly as one by one") {
  scenario("batching");
}

TEST_CASE("serve answers the request in flight when told to stop, then exits 0") { scenario("drain"); }

TEST_CASE("serve under load answers 20000 requests with 10 percent malformed, none wrong, memory flat") {
  scenario("load");
}

TEST_CASE("serve killed under load restarts on the same port with its parameters unchanged") {
  scenario("kill_restart");
}
