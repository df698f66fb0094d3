// Single-bit flips, in-process through the module's API: 2,000 across a
// signed file and 2,000 across its signature file, each refused (a
// verification that is not good, or a malformed signature). The untrusted
// comment's text is the one part of a minisign signature that nothing
// covers, by design; a test below pins that down, and the flips skip it.
// A sample of the flipped signatures is also checked with minisign, which
// must refuse them too.
#include <sys/types.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>

#include "base/error.hpp"
#include "cli_util.hpp"
#include "trust/secret_key.hpp"
#include "trust/signature.hpp"
#include "trust/verify.hpp"
#include "trust_util.hpp"

using namespace keel::trust;
namespace fs = std::filesystem;

namespace {

constexpr int kFlips = 2000;

struct Signed {
  keel::test::TempDir dir;
  fs::path file, sig_file, pub_file;
  std::string bytes, sig_text;
  std::vector<PublicKey> trusted;
};

// A 4 KiB random file signed by a fresh key, its signature and public key
// written as keel verify and minisign read them.
void make_signed(Signed& s) {
  std::mt19937 rng(11);
  s.bytes.resize(4096);
  for (auto& c : s.bytes) c = static_cast<char>(rng());
  s.file = s.dir.write("data.bin", s.bytes);
  const auto key = generate_secret_key();
  s.trusted = {key->public_key()};
  s.pub_file = s.dir.write("k.pub", format_public_key(key->public_key()));
  trusttest::OpenFile f(s.file);
  const Signature sig = sign_file(f.fd(), s.file.string(), *key, "timestamp:1\tfile:data.bin\thashed",
                                  "signature from keel secret key");
  s.sig_text = format_signature(sig);
  s.sig_file = s.dir.write("data.bin.minisig", s.sig_text);
}

// Whether `sig_text` parses and verifies as a good signature of `fd`.
bool accepted(int fd, const std::string& sig_text, const std::vector<PublicKey>& trusted) {
  try {
    return verify_file(fd, "data.bin", parse_signature(sig_text, "data.bin.minisig"), trusted).good();
  } catch (const keel::Error& e) {
    CHECK(e.code() == keel::ExitCode::usage);
    return false;
  }
}

}  // namespace

TEST_CASE("every one of 2000 single-bit flips across a signed file is refused") {
  Signed s;
  make_signed(s);
  trusttest::OpenFile f(s.file, O_RDWR);
  const Signature sig = parse_signature(s.sig_text, "sig");
  REQUIRE(verify_file(f.fd(), "data.bin", sig, s.trusted).good());
  std::mt19937 rng(1);
  int refused = 0;
  for (int i = 0; i < kFlips; ++i) {
    const std::size_t at = rng() % s.bytes.size();
    const char flipped = static_cast<char>(s.bytes[at] ^ (1 << (rng() % 8)));
    REQUIRE(::pwrite(f.fd(), &flipped, 1, static_cast<off_t>(at)) == 1);
    const VerifyResult r = verify_file(f.fd(), "data.bin", sig, s.trusted);
    if (r.status == VerifyStatus::bad_signature) ++refused;
    REQUIRE(::pwrite(f.fd(), &s.bytes[at], 1, static_cast<off_t>(at)) == 1);
  }
  CHECK(refused == kFlips);
  CHECK(verify_file(f.fd(), "data.bin", sig, s.trusted).good());
}

TEST_CASE("every one of 2000 single-bit flips across a signature file is refused, as minisign refuses them") {
  trusttest::require_minisign();
  Signed s;
  make_signed(s);
  trusttest::OpenFile f(s.file);
  REQUIRE(accepted(f.fd(), s.sig_text, s.trusted));
  // The positions covered: all but the untrusted comment's text.
  const std::size_t comment_begin = std::string("untrusted comment: ").size();
  const std::size_t comment_end = s.sig_text.find('\n');
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < s.sig_text.size(); ++i)
    if (i < comment_begin || i >= comment_end) positions.push_back(i);
  std::mt19937 rng(2);
  int refused = 0, minisign_checked = 0, minisign_refused = 0;
  for (int i = 0; i < kFlips; ++i) {
    std::string text = s.sig_text;
    const std::size_t at = positions[rng() % positions.size()];
    text[at] = static_cast<char>(text[at] ^ (1 << (rng() % 8)));
    if (!accepted(f.fd(), text, s.trusted)) ++refused;
    // Every 40th flip, the peer's verdict too.
    if (i % 40 == 0) {
      const fs::path flipped = s.dir.write("flipped.minisig", text);
      const auto r = keel::test::run_process({trusttest::kMinisign, "-V", "-q", "-p", s.pub_file.string(),
                                              "-m", s.file.string(), "-x", flipped.string()});
      ++minisign_checked;
      if (r.exit_code != 0) ++minisign_refused;
    }
  }
  CHECK(refused == kFlips);
  CHECK(minisign_refused == minisign_checked);
  CHECK(minisign_checked == kFlips / 40);
}

TEST_CASE("the untrusted comment is covered by no signature, in keel as in minisign") {
  Signed s;
  make_signed(s);
  trusttest::OpenFile f(s.file);
  std::string text = s.sig_text;
  const std::string from = "signature from keel secret key", to = "signature from someone else!!";
  text.replace(text.find(from), from.size(), to);
  CHECK(accepted(f.fd(), text, s.trusted));
  // Whereas the trusted comment is: one character changed is refused.
  std::string trusted = s.sig_text;
  trusted[trusted.find("timestamp:1") + 10] = '2';
  const VerifyResult r = verify_file(f.fd(), "data.bin", parse_signature(trusted, "sig"), s.trusted);
  CHECK(r.status == VerifyStatus::bad_trusted_comment);
}

TEST_CASE("a key that copies a trusted key's ID neither shadows it nor passes for it") {
  Signed s;
  make_signed(s);
  trusttest::OpenFile f(s.file);
  const Signature sig = parse_signature(s.sig_text, "sig");
  PublicKey impostor = generate_secret_key()->public_key();
  impostor.id = s.trusted[0].id;
  CHECK(verify_file(f.fd(), "data.bin", sig, {impostor}).status == VerifyStatus::bad_signature);
  CHECK(verify_file(f.fd(), "data.bin", sig, {impostor, s.trusted[0]}).good());
  PublicKey stranger = generate_secret_key()->public_key();
  const VerifyResult r = verify_file(f.fd(), "data.bin", sig, {stranger});
  CHECK(r.status == VerifyStatus::untrusted_key);
  CHECK(r.describe() == "signed by key ID " + key_id_hex(sig.key_id) + ", which is not a trusted key");
}
