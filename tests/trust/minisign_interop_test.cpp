// Interop with Debian's minisign both ways: keys minisign made sign with
// keel and verify with minisign; keys keel made sign with minisign and
// verify with keel; signatures of either verify with the other. Encrypted
// secret keys too: minisign reads the passphrase from standard input when it
// is not a terminal, so it is piped in.
#include <catch2/catch.hpp>

#include "cli_util.hpp"
#include "trust_util.hpp"

using keel::test::run_keel;
using keel::test::slurp;
using keel::test::TempDir;
using trusttest::quote;
using trusttest::shell;
namespace fs = std::filesystem;

namespace {

// `minisign -V`: exit 0 and both signatures verified.
void require_minisign_verifies(const std::string& pub, const fs::path& file,
                               const std::string& trusted = "") {
  const auto r = keel::test::run_process({trusttest::kMinisign, "-V", "-p", pub, "-m", file.string()});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Signature and comment signature verified") != std::string::npos);
  if (!trusted.empty()) CHECK(r.out.find("Trusted comment: " + trusted + "\n") != std::string::npos);
}

// The key ID minisign wrote into its public key's comment, as keel prints
// key IDs: 16 hex digits. minisign prints the number without leading zeros
// ("%" PRIX64), so one key in 16 has a shorter ID there.
std::string minisign_key_id(const std::string& pub) {
  const std::string text = slurp(pub);
  const std::string prefix = "untrusted comment: minisign public key ";
  REQUIRE(text.rfind(prefix, 0) == 0);
  const std::string digits = text.substr(prefix.size(), text.find('\n') - prefix.size());
  REQUIRE(!digits.empty());
  REQUIRE(digits.size() <= 16);
  return std::string(16 - digits.size(), '0') + digits;
}

void require_keel_verifies(const std::string& pub, const fs::path& file, const std::string& key_id) {
  const auto r = run_keel({"verify", file.string(), "--public-key", pub});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("keel: " + file.string() + ": good signature from key ID " + key_id + "\n", 0) == 0);
}

}  // namespace

TEST_CASE("a minisign key pair signs with keel, and minisign and keel verify each other's signatures") {
  trusttest::require_minisign();
  TempDir dir;
  const std::string pub = (dir / "m.pub").string(), key = (dir / "m.key").string();
  REQUIRE(shell(std::string(trusttest::kMinisign) + " -G -W -p " + quote(pub) + " -s " + quote(key) +
                " </dev/null")
              .exit_code == 0);
  const std::string id = minisign_key_id(pub);
  const auto file = dir.write("plugin.so", std::string(100000, 'x') + "payload");
  const auto s = run_keel({"sign", file.string(), "--secret-key", key, "--trusted-comment", "build 42"});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  require_minisign_verifies(pub, file, "build 42");
  require_keel_verifies(pub, file, id);

  // minisign's own signature, prehashed (its default) and legacy (-l).
  fs::remove(file.string() + ".minisig");
  REQUIRE(shell(std::string(trusttest::kMinisign) + " -S -s " + quote(key) + " -m " + quote(file.string()) +
                " </dev/null")
              .exit_code == 0);
  require_keel_verifies(pub, file, id);
  fs::remove(file.string() + ".minisig");
  REQUIRE(shell(std::string(trusttest::kMinisign) + " -S -l -s " + quote(key) + " -m " +
                quote(file.string()) + " </dev/null")
              .exit_code == 0);
  REQUIRE(slurp(file.string() + ".minisig").find("\nRW") != std::string::npos);  // "Ed", legacy
  require_keel_verifies(pub, file, id);
  keel::test::write_file(file, "changed");
  const auto bad = run_keel({"verify", file.string(), "--public-key", pub});
  CHECK(bad.exit_code == 2);
}

TEST_CASE("a keel key pair signs with minisign, and keel's signatures verify with minisign") {
  trusttest::require_minisign();
  TempDir dir;
  const std::string name = (dir / "k").string();
  const auto g = run_keel({"keygen", "--sign", name});
  REQUIRE(g.exit_code == 0);
  const std::string id = g.out.substr(g.out.find("key ID ") + 7, 16);
  const auto file = dir.write("graph.yaml", "nodes: []\n");
  REQUIRE(run_keel({"sign", file.string(), "--secret-key", name + ".key", "-q"}).exit_code == 0);
  require_minisign_verifies(name + ".pub", file);
  fs::remove(file.string() + ".minisig");
  const auto m = shell(std::string(trusttest::kMinisign) + " -S -s " + quote(name + ".key") + " -m " +
                       quote(file.string()) + " -t 'from minisign' </dev/null");
  INFO(m.out << m.err);
  REQUIRE(m.exit_code == 0);
  require_keel_verifies(name + ".pub", file, id);
  CHECK(run_keel({"verify", file.string(), "--public-key", name + ".pub"})
            .out.find("trusted comment: from minisign\n") != std::string::npos);
}

TEST_CASE("passphrase-encrypted secret keys work across keel and minisign both ways") {
  trusttest::require_minisign();
  TempDir dir;
  // minisign's encrypted key (scrypt, its default parameters), used by keel.
  const std::string mpub = (dir / "m.pub").string(), mkey = (dir / "m.key").string();
  REQUIRE(shell("printf 'pass one\\npass one\\n' | " + std::string(trusttest::kMinisign) + " -G -p " +
                quote(mpub) + " -s " + quote(mkey))
              .exit_code == 0);
  const auto file = dir.write("ckpt.safetensors", "tensor bytes");
  const auto wrong =
      run_keel({"sign", file.string(), "--secret-key", mkey, "--passphrase-env", "KEEL_TEST_PASS"},
               {{"KEEL_TEST_PASS", "pass two"}});
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.err ==
        "keel: error: " + mkey + ": wrong passphrase for the secret key file, or the file is damaged\n");
  const auto s =
      run_keel({"sign", file.string(), "--secret-key", mkey, "--passphrase-env", "KEEL_TEST_PASS", "-q"},
               {{"KEEL_TEST_PASS", "pass one"}});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  require_minisign_verifies(mpub, file);

  // keel's encrypted key, used by minisign.
  const std::string name = (dir / "k").string();
  const auto g = run_keel({"keygen", "--sign", name, "--passphrase-env", "KEEL_TEST_PASS"},
                          {{"KEEL_TEST_PASS", "pass three"}});
  REQUIRE(g.exit_code == 0);
  const std::string id = g.out.substr(g.out.find("key ID ") + 7, 16);
  const auto other = dir.write("other.bin", "other bytes");
  const auto m = shell("printf 'pass three\\n' | " + std::string(trusttest::kMinisign) + " -S -s " +
                       quote(name + ".key") + " -m " + quote(other.string()));
  INFO(m.out << m.err);
  REQUIRE(m.exit_code == 0);
  require_keel_verifies(name + ".pub", other, id);
}
