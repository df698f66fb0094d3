// keel keygen --sign, keel sign and keel verify end to end: the files they
// write, and each refusal as one error line with exit 2 and nothing written.
// That the files are really minisign's is minisign_interop_test's job.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <set>

#include "cli_util.hpp"
#include "trust_util.hpp"

using keel::test::run_keel;
using keel::test::slurp;
using keel::test::TempDir;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::set<std::string> names(const TempDir& dir) {
  const auto e = dir.entries();
  return {e.begin(), e.end()};
}

// The command fails with exit 2 and exactly this one line.
void require_refused(const keel::test::ProcessResult& r, const std::string& line) {
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "keel: error: " + line + "\n");
}

// "key ID X" from keel keygen --sign's line.
std::string key_id_of(const std::string& keygen_out) {
  const auto at = keygen_out.find("key ID ");
  REQUIRE(at != std::string::npos);
  return keygen_out.substr(at + 7, 16);
}

}  // namespace

TEST_CASE("keel keygen --sign writes a 0600 secret key and a 0644 public key and never overwrites them") {
  TempDir dir;
  const std::string name = (dir / "k").string();
  const auto r = run_keel({"keygen", "--sign", name});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(mode_of(name + ".key") == 0600);
  CHECK(mode_of(name + ".pub") == 0644);
  const std::string id = key_id_of(r.out);
  CHECK(slurp(name + ".pub").rfind("untrusted comment: keel public key " + id + "\n", 0) == 0);
  const std::string key_before = slurp(name + ".key"), pub_before = slurp(name + ".pub");

  require_refused(run_keel({"keygen", "--sign", name}), "'" + name + ".key' already exists");
  CHECK(slurp(name + ".key") == key_before);
  CHECK(slurp(name + ".pub") == pub_before);
  // A lone public key is refused too, and no secret key appears beside it.
  fs::remove(name + ".key");
  require_refused(run_keel({"keygen", "--sign", name}), "'" + name + ".pub' already exists");
  CHECK(names(dir) == std::set<std::string>{"k.pub"});
}

TEST_CASE("keel keygen without --sign still writes an encryption key file") {
  TempDir dir;
  const auto k = dir / "enc.key";
  const auto r = run_keel({"keygen", k.string(), "-q"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(mode_of(k) == 0600);
  CHECK(slurp(k).size() == 45);  // url-safe base64 of 32 bytes and a newline
  require_refused(run_keel({"keygen"}), "keyfile is required (run 'keel --help' for usage)");
  require_refused(run_keel({"keygen", (dir / "x.key").string(), "--sign", (dir / "x").string()}),
                  "give either KEYFILE or --sign NAME, not both");
  require_refused(run_keel({"keygen", (dir / "y.key").string(), "--passphrase-env", "P"}),
                  "--passphrase-env applies to keel keygen --sign NAME only");
  CHECK(names(dir) == std::set<std::string>{"enc.key"});
}

TEST_CASE("keel sign and keel verify accept a good signature and refuse another key and another file") {
  TempDir dir;
  const std::string a = (dir / "a").string(), b = (dir / "b").string();
  const auto ka = run_keel({"keygen", "--sign", a});
  REQUIRE(ka.exit_code == 0);
  REQUIRE(run_keel({"keygen", "--sign", b, "-q"}).exit_code == 0);
  const auto file = dir.write("model.bin", "weights\n");
  const auto other = dir.write("other.bin", "other weights\n");
  const auto s =
      run_keel({"sign", file.string(), "--secret-key", a + ".key", "--trusted-comment", "release 1"});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  REQUIRE(fs::exists(file.string() + ".minisig"));
  REQUIRE(run_keel({"sign", other.string(), "--secret-key", a + ".key", "-q"}).exit_code == 0);

  const auto v = run_keel({"verify", file.string(), "--public-key", a + ".pub"});
  INFO(v.err);
  CHECK(v.exit_code == 0);
  CHECK(v.out == "keel: " + file.string() + ": good signature from key ID " + key_id_of(ka.out) +
                     "\ntrusted comment: release 1\n");
  // Any of several keys may have signed.
  CHECK(run_keel({"verify", file.string(), "--public-key", b + ".pub", "--public-key", a + ".pub", "-q"})
            .exit_code == 0);

  require_refused(run_keel({"verify", file.string(), "--public-key", b + ".pub"}),
                  file.string() + ": signed by key ID " + key_id_of(ka.out) + ", which is not a trusted key");
  require_refused(run_keel({"verify", file.string(), "--public-key", a + ".pub", "--signature",
                            other.string() + ".minisig"}),
                  file.string() + ": bad signature: the file or its signature was modified (key ID " +
                      key_id_of(ka.out) + ")");
  keel::test::write_file(file, "weights!\n");
  require_refused(run_keel({"verify", file.string(), "--public-key", a + ".pub"}),
                  file.string() + ": bad signature: the file or its signature was modified (key ID " +
                      key_id_of(ka.out) + ")");
}

TEST_CASE("a truncated or missing signature file is refused with one line naming it") {
  TempDir dir;
  const std::string k = (dir / "k").string();
  REQUIRE(run_keel({"keygen", "--sign", k, "-q"}).exit_code == 0);
  const auto file = dir.write("f.txt", "text\n");
  REQUIRE(run_keel({"sign", file.string(), "--secret-key", k + ".key", "-q"}).exit_code == 0);
  const std::string sig = slurp(file.string() + ".minisig");
  const fs::path cut = dir / "cut.minisig";
  // Every cut short of the final newline (which ends the last line without
  // adding to it) is refused.
  for (std::size_t n = 0; n + 1 < sig.size(); n += 7) {
    keel::test::write_file(cut, sig.substr(0, n));
    const auto r =
        run_keel({"verify", file.string(), "--public-key", k + ".pub", "--signature", cut.string()});
    INFO("cut at " << n << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("keel: error: " + cut.string() + ": ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  keel::test::write_file(cut, sig.substr(0, sig.find("trusted comment: timestamp")));
  require_refused(
      run_keel({"verify", file.string(), "--public-key", k + ".pub", "--signature", cut.string()}),
      cut.string() + ": truncated minisign signature: 2 of its 4 lines");
  require_refused(
      run_keel({"verify", file.string(), "--public-key", k + ".pub", "--signature", (dir / "none").string()}),
      (dir / "none").string() + ": cannot open signature file: No such file or directory");
}

TEST_CASE("a secret key that group or others may read is refused and nothing is signed") {
  TempDir dir;
  const std::string k = (dir / "k").string();
  REQUIRE(run_keel({"keygen", "--sign", k, "-q"}).exit_code == 0);
  const auto file = dir.write("f.txt", "text\n");
  fs::permissions(k + ".key", fs::perms::group_read, fs::perm_options::add);
  require_refused(
      run_keel({"sign", file.string(), "--secret-key", k + ".key"}),
      k +
          ".key: secret key file is accessible by group or others (mode 0640); protect it with: chmod "
          "600 " +
          k + ".key");
  CHECK_FALSE(fs::exists(file.string() + ".minisig"));
}

TEST_CASE("an encrypted secret key signs with its passphrase only") {
  TempDir dir;
  const std::string k = (dir / "k").string();
  const auto g =
      run_keel({"keygen", "--sign", k, "--passphrase-env", "KEEL_TEST_PASS"}, {{"KEEL_TEST_PASS", "s3cret"}});
  INFO(g.err);
  REQUIRE(g.exit_code == 0);
  CHECK(slurp(k + ".key").rfind("untrusted comment: keel encrypted secret key ", 0) == 0);
  const auto file = dir.write("f.txt", "text\n");
  require_refused(run_keel({"sign", file.string(), "--secret-key", k + ".key"}),
                  k + ".key: secret key file is encrypted: give its passphrase with --passphrase-env VAR");
  require_refused(
      run_keel({"sign", file.string(), "--secret-key", k + ".key", "--passphrase-env", "KEEL_TEST_PASS"},
               {{"KEEL_TEST_PASS", "wrong"}}),
      k + ".key: wrong passphrase for the secret key file, or the file is damaged");
  require_refused(
      run_keel({"sign", file.string(), "--secret-key", k + ".key", "--passphrase-env", "KEEL_TEST_PASS"},
               {{"KEEL_TEST_PASS", ""}}),
      "environment variable KEEL_TEST_PASS is not set (it should hold the passphrase)");
  CHECK_FALSE(fs::exists(file.string() + ".minisig"));
  REQUIRE(run_keel(
              {"sign", file.string(), "--secret-key", k + ".key", "--passphrase-env", "KEEL_TEST_PASS", "-q"},
              {{"KEEL_TEST_PASS", "s3cret"}})
              .exit_code == 0);
  CHECK(run_keel({"verify", file.string(), "--public-key", k + ".pub", "-q"}).exit_code == 0);
}
