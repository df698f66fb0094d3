// `keel keygen`, `keel encrypt` and `keel decrypt` end to end: the files
// they write are checked with Python (cryptography's AESGCM and Fernet,
// hashlib.scrypt), every failure of docs/encryption.md gives one error line,
// exit code 2 and no output file, not even a partial or temporary one.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>

#include "cli_util.hpp"
#include "test_support.hpp"

using enctest::Bytes;
using enctest::pattern;
using keel::test::run_keel;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kChunk = 1 << 20;  // the CLI's chunk size (the container's default)
const std::string kAuthFailed = "authentication failed: wrong key or the file was modified";

std::string key_hex(const std::string& key_file) {
  return enctest::python(
      "import base64,sys; print(base64.urlsafe_b64decode(open(sys.argv[1]).read().strip()).hex())",
      {key_file});
}

// A key file written by Python (an independent source), mode 0600.
std::string python_key(const enctest::TempDir& dir, const std::string& name) {
  const std::string k = dir.file(name);
  enctest::python(
      "import sys; from cryptography.fernet import Fernet; open(sys.argv[1], "
      "'wb').write(Fernet.generate_key() + b'\\n')",
      {k});
  fs::permissions(k, fs::perms::owner_read | fs::perms::owner_write);
  return k;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::size_t lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Only the named files are in the folder: no output, no leftover temporary.
void require_only(const enctest::TempDir& dir, std::set<std::string> names) {
  std::set<std::string> seen;
  for (const auto& e : fs::directory_iterator(fs::path(dir.file(""))))
    seen.insert(e.path().filename().string());
  CHECK(seen == names);
}

// decrypt IN must fail with exactly `message` about IN, exit 2, no output.
void require_decrypt_fails(const enctest::TempDir& dir, const std::string& in, const std::string& key,
                           const std::string& message, const std::set<std::string>& files) {
  const auto r = run_keel({"decrypt", in, dir.file("out.bin"), "--key-file", key});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "keel: error: " + in + ": " + message + "\n");
  CHECK_FALSE(fs::exists(dir.file("out.bin")));
  require_only(dir, files);
}

}  // namespace

TEST_CASE("keel keygen writes a mode 0600 key that Python's Fernet accepts and never overwrites one") {
  enctest::TempDir dir;
  const std::string k1 = dir.file("a.key"), k2 = dir.file("b.key");
  const auto r = run_keel({"keygen", k1});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(mode_of(k1) == 0600);
  REQUIRE(run_keel({"keygen", k2}).exit_code == 0);
  // Python accepts both as Fernet keys (32 bytes, url-safe base64) and they differ.
  CHECK(enctest::python("import sys; from cryptography.fernet import Fernet\n"
                        "a, b = (open(f, 'rb').read().strip() for f in sys.argv[1:3])\n"
                        "Fernet(a); Fernet(b); print(a != b)",
                        {k1, k2}) == "True");
  const Bytes before = enctest::read_file(k1);
  // The key is never printed.
  const std::string text(before.begin(), before.end() - 1);
  CHECK(r.out.find(text) == std::string::npos);
  CHECK(r.err.find(text) == std::string::npos);

  const auto again = run_keel({"keygen", k1});
  CHECK(again.exit_code == 2);
  CHECK(again.err ==
        "keel: error: '" + k1 + "' already exists; a key is never overwritten (remove the file first)\n");
  CHECK(enctest::read_file(k1) == before);
  require_only(dir, {"a.key", "b.key"});
}

TEST_CASE("key files that group or others may read or write are refused, naming the fix") {
  enctest::TempDir dir;
  const std::string key = python_key(dir, "k.key");
  enctest::write_file(dir.file("p"), pattern(100));
  for (auto mode : {0644u, 0640u, 0604u, 0602u, 0620u}) {
    INFO("mode " << std::oct << mode);
    fs::permissions(key, static_cast<fs::perms>(mode));
    const auto r = run_keel({"encrypt", dir.file("p"), dir.file("c"), "--key-file", key});
    CHECK(r.exit_code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("key file '" + key + "' is accessible by group or others") != std::string::npos);
    CHECK(r.err.find("chmod 600 " + key) != std::string::npos);
    CHECK_FALSE(fs::exists(dir.file("c")));
  }
  fs::permissions(key, static_cast<fs::perms>(0400));
  CHECK(run_keel({"encrypt", dir.file("p"), dir.file("c"), "--key-file", key}).exit_code == 0);
}

TEST_CASE("keel encrypt writes containers Python decrypts, keel decrypt reads them back") {
  enctest::TempDir dir;
  const std::string key = python_key(dir, "k.key");
  for (std::size_t n : {std::size_t{0}, std::size_t{1000}, 2 * kChunk + 12345}) {
    INFO("n = " << n);
    const Bytes plain = pattern(n, 3);
    enctest::write_file(dir.file("p"), plain);
    const auto e = run_keel({"encrypt", dir.file("p"), dir.file("c"), "--key-file", key});
    INFO(e.err);
    REQUIRE(e.exit_code == 0);
    enctest::python(enctest::kPythonContainerReader, {key_hex(key), "raw", dir.file("c"), dir.file("py")});
    CHECK(enctest::read_file(dir.file("py")) == plain);
    const auto d = run_keel({"decrypt", dir.file("c"), dir.file("back"), "--key-file", key});
    INFO(d.err);
    REQUIRE(d.exit_code == 0);
    CHECK(enctest::read_file(dir.file("back")) == plain);
  }
}

TEST_CASE("keel encrypt --passphrase-env derives the key with scrypt, as Python's hashlib does") {
  enctest::TempDir dir;
  const Bytes plain = pattern(5000, 4);
  enctest::write_file(dir.file("p"), plain);
  const std::map<std::string, std::string> env{{"KEEL_TEST_PASS", "correct horse battery"}};
  const auto e =
      run_keel({"encrypt", dir.file("p"), dir.file("c"), "--passphrase-env", "KEEL_TEST_PASS"}, env);
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  enctest::python(enctest::kPythonContainerReader,
                  {"correct horse battery", "scrypt", dir.file("c"), dir.file("py")});
  CHECK(enctest::read_file(dir.file("py")) == plain);
  const auto d =
      run_keel({"decrypt", dir.file("c"), dir.file("back"), "--passphrase-env", "KEEL_TEST_PASS"}, env);
  REQUIRE(d.exit_code == 0);
  CHECK(enctest::read_file(dir.file("back")) == plain);

  const auto wrong =
      run_keel({"decrypt", dir.file("c"), dir.file("o"), "--passphrase-env", "P"}, {{"P", "correct horse"}});
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.err == "keel: error: " + dir.file("c") + ": " + kAuthFailed + "\n");
  const auto unset =
      run_keel({"decrypt", dir.file("c"), dir.file("o"), "--passphrase-env", "KEEL_UNSET_VAR"});
  CHECK(unset.exit_code == 2);
  CHECK(unset.err ==
        "keel: error: environment variable KEEL_UNSET_VAR is not set (it should hold the passphrase)\n");
  CHECK_FALSE(fs::exists(dir.file("o")));
}

TEST_CASE("keel decrypt: every modification is one error line, exit 2 and no output file") {
  enctest::TempDir dir;
  const std::string key = python_key(dir, "k.key"), other = python_key(dir, "other.key");
  const std::size_t n = 2 * kChunk + 5000;  // three chunks
  enctest::write_file(dir.file("p"), pattern(n, 7));
  enctest::write_file(dir.file("p2"), pattern(n, 8));
  REQUIRE(run_keel({"encrypt", dir.file("p"), dir.file("c"), "--key-file", key}).exit_code == 0);
  REQUIRE(run_keel({"encrypt", dir.file("p2"), dir.file("c2"), "--key-file", key}).exit_code == 0);
  const Bytes good = enctest::read_file(dir.file("c"));
  const Bytes good2 = enctest::read_file(dir.file("c2"));
  const std::size_t stride = kChunk + 16;
  REQUIRE(good.size() == 56 + n + 3 * 16);
  const std::set<std::string> files{"k.key", "other.key", "p", "p2", "c", "c2", "bad"};
  const std::string bad = dir.file("bad");

  SECTION("wrong key") {
    enctest::write_file(bad, good);
    require_decrypt_fails(dir, bad, other, kAuthFailed, files);
  }
  SECTION("a flipped bit in the salt, nonce prefix, a chunk's ciphertext or tag") {
    for (std::size_t at : {std::size_t{20}, std::size_t{40}, std::size_t{56}, 56 + stride - 1,
                           56 + stride + 777, good.size() - 1}) {
      INFO("byte " << at);
      Bytes b = good;
      b[at] ^= 0x10;
      enctest::write_file(bad, b);
      require_decrypt_fails(dir, bad, key, kAuthFailed, files);
    }
  }
  SECTION("a flipped bit in a structural header field") {
    Bytes b = good;
    b[10] ^= 0x04;  // key derivation
    enctest::write_file(bad, b);
    require_decrypt_fails(dir, bad, key, "unsupported key derivation 4", files);
    b = good;
    b[0] ^= 0x01;  // magic
    enctest::write_file(bad, b);
    require_decrypt_fails(dir, bad, key, "not a Keel encrypted file (bad magic)", files);
  }
  SECTION("truncated") {
    enctest::write_file(bad, Bytes(good.begin(), good.end() - 100));
    require_decrypt_fails(dir, bad, key, "truncated chunk", files);
    enctest::write_file(bad, Bytes(good.begin(), good.begin() + 30));
    require_decrypt_fails(dir, bad, key, "truncated header", files);
    // The last chunk dropped and the length fixed up: still detected.
    Bytes b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(56 + 2 * stride));
    const std::uint64_t len = 2 * kChunk;
    for (int i = 0; i < 8; ++i)
      b[48 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(len >> (8 * i));
    enctest::write_file(bad, b);
    require_decrypt_fails(dir, bad, key, kAuthFailed, files);
  }
  SECTION("an appended chunk") {
    Bytes b = good;
    b.insert(b.end(), good.begin() + 56, good.begin() + static_cast<std::ptrdiff_t>(56 + stride));
    enctest::write_file(bad, b);
    require_decrypt_fails(dir, bad, key, "data after the last chunk", files);
    const std::uint64_t len = n + kChunk;  // and the length fixed up
    for (int i = 0; i < 8; ++i)
      b[48 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(len >> (8 * i));
    enctest::write_file(bad, b);
    require_decrypt_fails(dir, bad, key, kAuthFailed, files);
  }
  SECTION("two chunks swapped") {
    Bytes b = good;
    std::swap_ranges(b.begin() + 56, b.begin() + static_cast<std::ptrdiff_t>(56 + stride),
                     b.begin() + static_cast<std::ptrdiff_t>(56 + stride));
    enctest::write_file(bad, b);
    require_decrypt_fails(dir, bad, key, kAuthFailed, files);
  }
  SECTION("a chunk from another file, and the header from another file") {
    Bytes b = good;
    std::copy(good2.begin() + 56 + static_cast<std::ptrdiff_t>(stride),
              good2.begin() + 56 + 2 * static_cast<std::ptrdiff_t>(stride),
              b.begin() + 56 + static_cast<std::ptrdiff_t>(stride));
    enctest::write_file(bad, b);
    require_decrypt_fails(dir, bad, key, kAuthFailed, files);
    b = good;
    std::copy(good2.begin(), good2.begin() + 56, b.begin());
    enctest::write_file(bad, b);
    require_decrypt_fails(dir, bad, key, kAuthFailed, files);
  }
  SECTION("an empty file") {
    enctest::write_file(bad, {});
    require_decrypt_fails(dir, bad, key, "empty file: not a Keel encrypted file", files);
  }
  SECTION("a failed decryption never replaces an existing output") {
    enctest::write_file(bad, good);
    enctest::write_file(dir.file("out.bin"), {1, 2, 3});
    const auto r = run_keel({"decrypt", bad, dir.file("out.bin"), "--key-file", other});
    CHECK(r.exit_code == 2);
    CHECK(enctest::read_file(dir.file("out.bin")) == Bytes{1, 2, 3});
  }
}

TEST_CASE("keel encrypt and decrypt refuse bad usage with exit code 2") {
  enctest::TempDir dir;
  const std::string key = python_key(dir, "k.key");
  enctest::write_file(dir.file("p"), pattern(10));
  auto err = [](const keel::test::ProcessResult& r) {
    CHECK(r.exit_code == 2);
    return r.first_err_line();
  };
  CHECK(err(run_keel({"encrypt", dir.file("p"), dir.file("c")})) ==
        "keel: error: give exactly one of --key-file FILE and --passphrase-env VAR");
  CHECK(err(run_keel({"encrypt", dir.file("p"), dir.file("c"), "--key-file", key, "--passphrase-env",
                      "X"})) == "keel: error: give exactly one of --key-file FILE and --passphrase-env VAR");
  CHECK(err(run_keel({"encrypt", dir.file("nope"), dir.file("c"), "--key-file", key})) ==
        "keel: error: input file '" + dir.file("nope") + "' does not exist");
  CHECK(err(run_keel({"encrypt", dir.file("p"), dir.file("c"), "--key-file", dir.file("nokey")}))
            .find("cannot open key file '" + dir.file("nokey") + "'") != std::string::npos);
  CHECK(err(run_keel({"encrypt", dir.file("p"), dir.file("c"), "--key-file", key, "--format", "zip"})) ==
        "keel: error: unknown format 'zip' (formats: fernet, keel)");
  CHECK(err(run_keel({"encrypt", dir.file("p"), dir.file("c"), "--passphrase-env", "HOME", "--format",
                      "fernet"})) == "keel: error: Fernet needs a key file; a passphrase cannot be used");
  REQUIRE(run_keel({"encrypt", dir.file("p"), dir.file("c"), "--key-file", key}).exit_code == 0);
  CHECK(err(run_keel({"decrypt", dir.file("c"), dir.file("o"), "--key-file", key, "--ttl", "5"})) ==
        "keel: error: --ttl applies to Fernet tokens only (use --format fernet)");
  require_only(dir, {"k.key", "p", "c"});
}

TEST_CASE("Fernet through the CLI: Python reads Keel's tokens and Keel reads Python's, TTL included") {
  enctest::TempDir dir;
  const std::string key = python_key(dir, "k.key");
  const Bytes plain = pattern(3000, 12);
  enctest::write_file(dir.file("p"), plain);

  // Keel -> Python.
  REQUIRE(run_keel({"encrypt", dir.file("p"), dir.file("t"), "--key-file", key, "--format", "fernet"})
              .exit_code == 0);
  CHECK(enctest::python("import sys; from cryptography.fernet import Fernet\n"
                        "f = Fernet(open(sys.argv[1], 'rb').read().strip())\n"
                        "print(f.decrypt(open(sys.argv[2], 'rb').read(), ttl=3600).hex())",
                        {key, dir.file("t")}) == enctest::to_hex(plain));

  // Python -> Keel: a fresh token, and one made 1000 s ago.
  const char* make =
      "import sys, time; from cryptography.fernet import Fernet\n"
      "f = Fernet(open(sys.argv[1], 'rb').read().strip())\n"
      "open(sys.argv[3], 'wb').write(f.encrypt_at_time(open(sys.argv[2], 'rb').read(),"
      " int(time.time()) - int(sys.argv[4])))";
  enctest::python(make, {key, dir.file("p"), dir.file("fresh"), "0"});
  enctest::python(make, {key, dir.file("p"), dir.file("old"), "1000"});

  // Recognized as Fernet by its first bytes, or named.
  REQUIRE(run_keel({"decrypt", dir.file("fresh"), dir.file("o1"), "--key-file", key}).exit_code == 0);
  CHECK(enctest::read_file(dir.file("o1")) == plain);
  REQUIRE(run_keel({"decrypt", dir.file("fresh"), dir.file("o2"), "--key-file", key, "--format", "fernet",
                    "--ttl", "60"})
              .exit_code == 0);
  CHECK(enctest::read_file(dir.file("o2")) == plain);

  // Expired under a TTL; fine without one.
  const auto expired = run_keel(
      {"decrypt", dir.file("old"), dir.file("o3"), "--key-file", key, "--format", "fernet", "--ttl", "60"});
  CHECK(expired.exit_code == 2);
  CHECK(expired.err == "keel: error: " + dir.file("old") + ": invalid Fernet token\n");
  CHECK_FALSE(fs::exists(dir.file("o3")));
  REQUIRE(run_keel({"decrypt", dir.file("old"), dir.file("o4"), "--key-file", key, "--format", "fernet",
                    "--ttl", "2000"})
              .exit_code == 0);
  CHECK(enctest::read_file(dir.file("o4")) == plain);

  // A modified token.
  Bytes t = enctest::read_file(dir.file("fresh"));
  t[40] = t[40] == 'A' ? 'B' : 'A';
  enctest::write_file(dir.file("bad"), t);
  const auto bad = run_keel({"decrypt", dir.file("bad"), dir.file("o5"), "--key-file", key});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "keel: error: " + dir.file("bad") + ": invalid Fernet token\n");
  CHECK_FALSE(fs::exists(dir.file("o5")));
}

TEST_CASE("a modification in the last chunk of a file leaves no output at all") {
  // Workers write the chunks that verify to the temporary as they go: the
  // last one failing must still leave nothing behind.
  enctest::TempDir dir;
  const std::string key = python_key(dir, "k.key");
  enctest::write_file(dir.file("p"), pattern(6 * kChunk + 3, 13));
  REQUIRE(run_keel({"encrypt", dir.file("p"), dir.file("c"), "--key-file", key}).exit_code == 0);
  Bytes c = enctest::read_file(dir.file("c"));
  c[c.size() - 30] ^= 0x40;
  enctest::write_file(dir.file("bad"), c);
  require_decrypt_fails(dir, dir.file("bad"), key, kAuthFailed, {"k.key", "p", "c", "bad"});
}

TEST_CASE("keel plugins lists the encrypt plugin's codecs, in text and JSON") {
  const auto text = run_keel({"plugins"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("format keel") != std::string::npos);
  CHECK(text.out.find("format fernet") != std::string::npos);
  const auto json = run_keel({"plugins", "--json"});
  REQUIRE(json.exit_code == 0);
  enctest::TempDir dir;
  enctest::write_file(dir.file("p.json"), Bytes(json.out.begin(), json.out.end()));
  CHECK(enctest::python("import json, sys\n"
                        "d = json.load(open(sys.argv[1]))\n"
                        "e = [p for p in d['plugins'] if p['name'] == 'encrypt'][0]\n"
                        "print(','.join(c['name'] for c in e['codecs']), all(c['doc'] for c in e['codecs']))",
                        {dir.file("p.json")}) == "keel,fernet True");
}

TEST_CASE("keel encrypt and decrypt read from a pipe") {
  enctest::TempDir dir;
  const std::string key = python_key(dir, "k.key");
  const Bytes plain = pattern(3 * kChunk + 7, 14);
  enctest::write_file(dir.file("p"), plain);
  const std::string keel = keel::test::keel_binary();
  const auto r =
      keel::test::run_process({"/bin/sh", "-c",
                               "cat \"$1\" | \"$0\" encrypt /dev/stdin \"$2\" --key-file \"$4\" -q && "
                               "cat \"$2\" | \"$0\" decrypt /dev/stdin \"$3\" --key-file \"$4\" -q",
                               keel, dir.file("p"), dir.file("c"), dir.file("back"), key});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(enctest::read_file(dir.file("back")) == plain);
  enctest::python(enctest::kPythonContainerReader, {key_hex(key), "raw", dir.file("c"), dir.file("py")});
  CHECK(enctest::read_file(dir.file("py")) == plain);
}

TEST_CASE("keel keygen, encrypt and decrypt load only the encrypt plugin, still warning about every folder") {
  enctest::TempDir dir;
  const std::string plugins = dir.file("plugins");
  fs::create_directories(plugins);
  std::ofstream(plugins + "/keel_broken.so") << "this is not a shared library\n";
  fs::permissions(plugins, fs::perms::all);  // writable by others: warned about, as by every command
  const std::string warning = "keel: warning: plugin folder '" + plugins + "' is writable by other users";
  const Bytes plain = pattern(3 * kChunk + 77, 5);
  enctest::write_file(dir.file("p"), plain);

  const auto k = run_keel({"keygen", dir.file("k.key"), "--plugin-path", plugins});
  INFO(k.err);
  REQUIRE(k.exit_code == 0);
  CHECK(k.err.find(warning) != std::string::npos);
  const auto e = run_keel(
      {"encrypt", dir.file("p"), dir.file("c"), "--key-file", dir.file("k.key"), "--plugin-path", plugins});
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  CHECK(e.err.find(warning) != std::string::npos);
  enctest::python(enctest::kPythonContainerReader,
                  {key_hex(dir.file("k.key")), "raw", dir.file("c"), dir.file("py")});
  CHECK(enctest::read_file(dir.file("py")) == plain);
  const auto d = run_keel({"decrypt", dir.file("c"), dir.file("back"), "--key-file", dir.file("k.key"),
                           "--plugin-path", plugins});
  INFO(d.err);
  REQUIRE(d.exit_code == 0);
  CHECK(enctest::read_file(dir.file("back")) == plain);

  // A format the encrypt plugin does not have: every plugin is loaded, as
  // before, and the broken one stops the command.
  const auto other = run_keel({"encrypt", dir.file("p"), dir.file("c2"), "--key-file", dir.file("k.key"),
                               "--format", "other", "--plugin-path", plugins});
  CHECK(other.exit_code == 2);
  CHECK(other.err.find("keel_broken.so: not a shared library") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("c2")));
}
