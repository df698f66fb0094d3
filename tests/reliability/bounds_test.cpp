// Resource bounds a hostile file or a mistyped setting must not get around:
// scrypt parameters are bounded by their total work (a container that asks
// for more is refused before deriving, at once), and KEEL_MAX_TENSOR_BYTES
// can only lower the per-tensor limit. The malformed values and the
// overflowing shapes are cases of the bad-input corpus (tensors/max_bytes_*,
// tensors/zero_dim_overflow.npy, containers/scrypt_*).
#include <catch2/catch.hpp>
#include <chrono>

#include "files.hpp"
#include "hardening_util.hpp"

namespace fs = std::filesystem;
using keel::test::run_keel;

namespace {

const fs::path kCorpus = fs::path(KEEL_SOURCE_DIR) / "tests" / "data" / "bad_inputs";

std::string graph_with_input_shape(const std::string& shape) {
  return "keel: 1\nname: bounds\ninputs:\n  x: {dtype: f32, shape: " + shape +
         "}\nnodes:\n  - {name: r, op: relu, inputs: [x]}\noutputs: [r]\n";
}

}  // namespace

TEST_CASE("a container asking scrypt for 1 GiB and 2^27 blocks of work is refused in well under a second") {
  // log2(N)=20, r=8, p=16 was accepted before the work bound: about two
  // minutes of scrypt on the development machine before "wrong passphrase".
  keel::test::TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_keel({"decrypt", (kCorpus / "containers" / "scrypt_work_bomb.enc").string(),
                           (dir / "plain").string(), "--passphrase-env", "KEEL_TEST_PASSPHRASE"},
                          {{"KEEL_TEST_PASSPHRASE", "correct horse"}});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().find("unsupported scrypt parameters: log2(N)=20 r=8 p=16 (limits: ") !=
        std::string::npos);
  CHECK(r.first_err_line().find("N*r*p at most 2^21") != std::string::npos);
  CHECK(seconds < 1.0 * keel::test::time_scale());
  CHECK(keel::test::listing(dir.path()).empty());
}

TEST_CASE("KEEL_MAX_TENSOR_BYTES above the memory of the machine is clamped with one warning") {
  keel::test::TempDir dir;
  // 16 TiB: more than any machine's limit (at most 1 TiB), less than 1000T.
  const fs::path huge = dir.write("huge.yaml", graph_with_input_shape("[1099511627776, 4]"));
  const fs::path small = dir.write("small.yaml", graph_with_input_shape("[2, 4]"));
  const std::map<std::string, std::string> env{{"KEEL_MAX_TENSOR_BYTES", "1000T"}};

  const auto ok = run_keel({"validate", small.string()}, env);
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.first_err_line().rfind("keel: warning: KEEL_MAX_TENSOR_BYTES=1000T is more than ", 0) == 0);
  CHECK(keel::test::line_count(ok.err) == 1);

  const auto refused = run_keel({"validate", huge.string()}, env);
  INFO(refused.err);
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("keel: error: ") != std::string::npos);
  CHECK(refused.err.find("(16.0 TiB), more than the limit of ") != std::string::npos);
  CHECK(refused.err.find("more than the limit of 1000.0 TiB") == std::string::npos);
}

TEST_CASE("KEEL_MAX_TENSOR_BYTES lowers the limit and an empty value is as if unset") {
  keel::test::TempDir dir;
  const fs::path g = dir.write("g.yaml", graph_with_input_shape("[1024, 1024]"));  // 4 MiB
  const auto lowered = run_keel({"validate", g.string()}, {{"KEEL_MAX_TENSOR_BYTES", "1M"}});
  INFO(lowered.err);
  CHECK(lowered.exit_code == 2);
  CHECK(lowered.err.find("(4.0 MiB), more than the limit of 1.0 MiB per tensor") != std::string::npos);
  const auto empty = run_keel({"validate", g.string()}, {{"KEEL_MAX_TENSOR_BYTES", ""}});
  INFO(empty.err);
  CHECK(empty.exit_code == 0);
  CHECK(empty.err.empty());
}
