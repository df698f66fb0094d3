// Key material never leaves the process: everything Keel writes during runs
// that use keys (stdout, stderr, every file in the output folder) is searched
// for the key's raw bytes, its base64 text (the key file's content), its hex
// and base64 forms, and any 12-byte window of the raw key, and none is found.
// The runs: graphs with the encrypt and decrypt ops, `keel encrypt/decrypt`
// (key file, passphrase, Fernet, a wrong key), and training with an
// encrypted checkpoint followed by inference reading it.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "runtime/npy.hpp"

namespace fs = std::filesystem;
using keel::test::ProcessResult;
using keel::test::slurp;
using keel::test::TempDir;

namespace {

// A key with no zero bytes and no long runs, so a window match means a leak.
std::string key_bytes() {
  std::string k;
  for (int i = 0; i < 32; ++i) k.push_back(static_cast<char>(0x41 + (i * 37) % 191));
  return k;
}

std::string base64(const std::string& in, bool url) {
  const char* abc = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                        : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += abc[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16;
    out += abc[(v >> 18) & 63];
    out += abc[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += abc[(v >> 18) & 63];
    out += abc[(v >> 12) & 63];
    out += abc[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string hex(const std::string& in, const char* digits) {
  std::string out;
  for (unsigned char c : in) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// Every form of the key a leak could take.
std::vector<std::string> secret_forms(const std::string& key) {
  std::vector<std::string> forms = {base64(key, true), base64(key, false), hex(key, "0123456789abcdef"),
                                    hex(key, "0123456789ABCDEF")};
  for (std::size_t at = 0; at + 12 <= key.size(); ++at) forms.push_back(key.substr(at, 12));
  forms.push_back(base64(key, true).substr(0, 20));
  return forms;
}

void check_no_secret(const std::string& where, const std::string& text,
                     const std::vector<std::string>& forms) {
  for (const std::string& f : forms) {
    INFO(where << " holds key material (form " << hex(f, "0123456789abcdef") << ")");
    CHECK(text.find(f) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("nothing Keel writes during encrypted runs holds the key") {
  TempDir dir;
  const std::string key = key_bytes();
  const fs::path key_file = dir.write("k.key", base64(key, true) + "\n");
  fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
  std::string other = key;
  other[0] ^= 1;
  const fs::path wrong_key = dir.write("wrong.key", base64(other, true) + "\n");
  fs::permissions(wrong_key, fs::perms::owner_read | fs::perms::owner_write);  // else refused before use
  keel::write_npy(dir / "x.npy", keel::test::random_tensor({4, 8}, 5));

  const std::string seal =
      "keel: 1\ninputs:\n  x: {dtype: f32, shape: [4, 8]}\nnodes:\n"
      "  - {name: e, op: encrypt, inputs: [x], attrs: {key_file: " +
      key_file.string() + ", chunk_size: 64}}\n" +
      "  - {name: d, op: decrypt, inputs: [e], attrs: {key_file: " + key_file.string() +
      ", chunk_size: 64}}\noutputs: [e, d]\n";
  dir.write("seal.yaml", seal);
  // The same container opened with the wrong key: a failure path. Its
  // length is what encrypt produces for 128 bytes in chunks of 64
  // (docs/encryption.md): 56 + 128 + 2 * 16.
  const std::string open_wrong =
      "keel: 1\ninputs:\n  c: {dtype: u8, shape: [216]}\nnodes:\n"
      "  - {name: d, op: decrypt, inputs: [c], attrs: {key_file: " +
      wrong_key.string() + ", chunk_size: 64}}\noutputs: [d]\n";
  dir.write("open_wrong.yaml", open_wrong);

  const fs::path out = dir / "out";
  // The passphrase reaches keel through the environment it inherits.
  const std::string passphrase = "correct horse battery staple 7f3a";
  ::setenv("KEEL_SECRETS_TEST_PASSPHRASE", passphrase.c_str(), 1);
  const fs::path files = dir / "files";
  fs::create_directories(files);
  const std::string x_npy = (dir / "x.npy").string(), graphs = std::string(KEEL_SOURCE_DIR) + "/graphs/";
  const fs::path trained = dir / "trained";
  struct Run {
    std::vector<std::string> args;
    int exit;
  };
  const std::vector<Run> runs = {
      {{"run", (dir / "seal.yaml").string(), "-i", "x=" + (dir / "x.npy").string(), "-o", out.string()}, 0},
      {{"validate", (dir / "seal.yaml").string()}, 0},
      {{"graph", (dir / "seal.yaml").string()}, 0},
      {{"run", (dir / "open_wrong.yaml").string(), "-i", "c=" + (out / "e.npy").string(), "-o",
        (dir / "out2").string()},
       1},
      {{"plugins", "--json"}, 0},
      {{"encrypt", x_npy, (files / "x.enc").string(), "--key-file", key_file.string()}, 0},
      {{"decrypt", (files / "x.enc").string(), (files / "x.dec").string(), "--key-file", key_file.string()},
       0},
      {{"decrypt", (files / "x.enc").string(), (files / "x.bad").string(), "--key-file", wrong_key.string()},
       2},
      {{"encrypt", x_npy, (files / "x.tok").string(), "--key-file", key_file.string(), "--format", "fernet"},
       0},
      {{"decrypt", (files / "x.tok").string(), (files / "x.tok.dec").string(), "--key-file",
        key_file.string()},
       0},
      {{"encrypt", x_npy, (files / "x.penc").string(), "--passphrase-env", "KEEL_SECRETS_TEST_PASSPHRASE"},
       0},
      {{"decrypt", (files / "x.penc").string(), (files / "x.pdec").string(), "--passphrase-env",
        "KEEL_SECRETS_TEST_PASSPHRASE"},
       0},
      {{"run", graphs + "digits_train.yaml", "-o", trained.string(), "--set", "train.steps=3", "--set",
        "train.checkpoint.key_file=" + key_file.string()},
       0},
      {{"run", graphs + "digits_infer.yaml", "--params", (trained / "digits.ckpt").string(), "--key-file",
        key_file.string(), "-i", "pixels=" + (trained / "holdout/pixels.npy").string(), "-o",
        (trained / "inference").string()},
       0},
  };
  auto forms = secret_forms(key);
  forms.push_back(passphrase);
  forms.push_back(passphrase.substr(8, 12));
  const auto wrong_forms = secret_forms(other);
  for (const Run& run : runs) {
    const ProcessResult r = keel::test::run_keel(run.args);
    INFO("keel " << run.args[0] << " " << run.args[1] << "\nstderr: " << r.err);
    CHECK(r.exit_code == run.exit);
    check_no_secret("stdout", r.out, forms);
    check_no_secret("stderr", r.err, forms);
    check_no_secret("stdout", r.out, wrong_forms);
    check_no_secret("stderr", r.err, wrong_forms);
  }
  // The runs did what they claim: the container exists and decrypts to x.
  REQUIRE(fs::exists(out / "e.npy"));
  REQUIRE(fs::exists(out / "d.npy"));
  const std::string x = slurp(dir / "x.npy");
  const std::string d = slurp(out / "d.npy");
  CHECK(d.find(x.substr(x.size() - 128)) != std::string::npos);
  // The CLI runs did what they claim.
  CHECK(slurp(files / "x.dec") == x);
  CHECK(slurp(files / "x.tok.dec") == x);
  CHECK(slurp(files / "x.pdec") == x);
  CHECK_FALSE(fs::exists(files / "x.bad"));
  CHECK(slurp(trained / "digits.ckpt").rfind("KEELENC1", 0) == 0);
  REQUIRE(fs::exists(trained / "inference/head.npy"));
  for (const fs::path& folder : {out, dir / "out2", files, trained}) {
    if (!fs::exists(folder)) continue;
    for (const auto& e : fs::recursive_directory_iterator(folder))
      if (e.is_regular_file()) {
        check_no_secret(e.path().string(), slurp(e.path()), forms);
        check_no_secret(e.path().string(), slurp(e.path()), wrong_forms);
      }
  }
}
