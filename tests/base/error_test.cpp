#include <catch2/catch.hpp>

#include "base/error.hpp"

TEST_CASE("an error formats as FILE:LINE:COL: message with its subject") {
  keel::Error e(keel::ExitCode::usage, "unknown op 'lienar'", {"g.yaml", 4, 9},
                {"fc1", "lienar", ""});
  CHECK(e.format() == "g.yaml:4:9: unknown op 'lienar' (node 'fc1', op 'lienar')");
  CHECK(e.code() == keel::ExitCode::usage);
}

TEST_CASE("an error without position or subject is just its message") {
  CHECK(keel::runtime_error("disk full").format() == "disk full");
  CHECK(keel::runtime_error("x", {"f.npy", 0, 0}).format() == "f.npy: x");
}
