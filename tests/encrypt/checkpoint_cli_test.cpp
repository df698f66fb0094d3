// Encrypted checkpoints end to end on the flagship graph: sealed before they
// touch the disk (the file is a Keel container, which Python decrypts to
// exactly the checkpoint an unencrypted run writes), read back by --resume
// and by an inference graph's --params, and refused without the key.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "cli_util.hpp"
#include "test_support.hpp"

using enctest::Bytes;
using keel::test::run_keel;
namespace fs = std::filesystem;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;
const std::string kTrain = kSource + "/graphs/digits_train.yaml";
const std::string kInfer = kSource + "/graphs/digits_infer.yaml";

void run_ok(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
  const auto r = run_keel(args, env);
  INFO("keel " << args[0] << " " << args[1] << ": " << r.err);
  REQUIRE(r.exit_code == 0);
}

std::vector<std::string> train_args(const std::string& out, int epochs) {
  return {"run", kTrain, "-q", "-o", out, "--set", "train.epochs=" + std::to_string(epochs)};
}

template <class... More>
std::vector<std::string> with(std::vector<std::string> v, More... more) {
  (v.push_back(more), ...);
  return v;
}

// What Python's independent reader makes of a sealed file.
Bytes python_open(const std::string& file, const std::string& key, const std::string& kind,
                  const std::string& tmp) {
  const std::string secret =
      kind == "raw"
          ? enctest::python(
                "import base64,sys; print(base64.urlsafe_b64decode(open(sys.argv[1]).read().strip()).hex())",
                {key})
          : key;
  enctest::python(enctest::kPythonContainerReader, {secret, kind, file, tmp});
  return enctest::read_file(tmp);
}

std::string key_file(const enctest::TempDir& dir) {
  const std::string k = dir.file("k.key");
  run_ok({"keygen", k, "-q"});
  return k;
}

}  // namespace

TEST_CASE("an encrypted checkpoint round-trips through training, resume and inference") {
  enctest::TempDir dir;
  const std::string key = key_file(dir);
  const std::string plain = dir.file("plain"), sealed = dir.file("sealed");
  const std::string seal_opt = "train.checkpoint.key_file=" + key;

  run_ok(train_args(plain, 2));
  run_ok(with(train_args(sealed, 2), "--set", seal_opt));

  // On disk: a container, not safetensors; inside: the very checkpoint the
  // unencrypted run wrote (training is deterministic).
  const Bytes on_disk = enctest::read_file(sealed + "/digits.ckpt");
  REQUIRE(on_disk.size() > 64);
  CHECK(std::string(on_disk.begin(), on_disk.begin() + 8) == "KEELENC1");
  const Bytes reference = enctest::read_file(plain + "/digits.ckpt");
  CHECK(python_open(sealed + "/digits.ckpt", key, "raw", dir.file("py.ckpt")) == reference);
  CHECK(std::search(on_disk.begin(), on_disk.end(), reference.begin(), reference.begin() + 64) ==
        on_disk.end());

  {  // resume reads the sealed checkpoint and seals the next one
    run_ok(with(train_args(plain + "2", 3), "--resume", plain + "/digits.ckpt"));
    run_ok(with(train_args(sealed + "2", 3), "--resume", sealed + "/digits.ckpt", "--set", seal_opt));
    CHECK(python_open(sealed + "2/digits.ckpt", key, "raw", dir.file("py2.ckpt")) ==
          enctest::read_file(plain + "2/digits.ckpt"));
    // The key may come from the command line instead of the graph: the run
    // continues sealed, with that key (never written out plain).
    run_ok(with(train_args(dir.file("cli"), 3), "--resume", sealed + "/digits.ckpt", "--key-file", key));
    CHECK(python_open(dir.file("cli") + "/digits.ckpt", key, "raw", dir.file("py3.ckpt")) ==
          enctest::read_file(plain + "2/digits.ckpt"));
  }

  {  // inference reads the sealed checkpoint with --key-file
    const std::string pixels = "pixels=" + plain + "/holdout/pixels.npy";
    run_ok({"run", kInfer, "-q", "--params", plain + "/digits.ckpt", "-i", pixels, "-o", dir.file("ia")});
    run_ok({"run", kInfer, "-q", "--params", sealed + "/digits.ckpt", "--key-file", key, "-i", pixels, "-o",
            dir.file("ib")});
    CHECK(enctest::read_file(dir.file("ib") + "/head.npy") ==
          enctest::read_file(dir.file("ia") + "/head.npy"));
  }

  {  // without the key, or with another, nothing runs
    const std::string pixels = "pixels=" + plain + "/holdout/pixels.npy";
    const auto none =
        run_keel({"run", kInfer, "--params", sealed + "/digits.ckpt", "-i", pixels, "-o", dir.file("x")});
    CHECK(none.exit_code == 2);
    CHECK(none.err == "keel: error: '" + sealed +
                          "/digits.ckpt' is an encrypted checkpoint (keel format): give its " +
                          "key with --key-file FILE or --passphrase-env VAR\n");
    const std::string other = dir.file("other.key");
    run_ok({"keygen", other, "-q"});
    const auto wrong = run_keel({"run", kInfer, "--params", sealed + "/digits.ckpt", "--key-file", other,
                                 "-i", pixels, "-o", dir.file("x")});
    CHECK(wrong.exit_code == 2);
    CHECK(wrong.err == "keel: error: " + sealed +
                           "/digits.ckpt: authentication failed: wrong key or the file was modified\n");
    const auto resume = run_keel(with(train_args(dir.file("x"), 3), "--resume", sealed + "/digits.ckpt"));
    CHECK(resume.exit_code == 2);
    CHECK(resume.first_err_line().find("is an encrypted checkpoint") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.file("x")));
  }
}

TEST_CASE("train.checkpoint.encrypt in the graph: key_file relative to the graph, or a passphrase variable") {
  enctest::TempDir dir;
  key_file(dir);  // dir/k.key
  std::ifstream in(kTrain);
  std::stringstream text;
  text << in.rdbuf();
  std::string g = text.str();
  const std::string csv = "csv: [data/digits.csv]";
  const auto at = g.find(csv);
  REQUIRE(at != std::string::npos);
  g.replace(at, csv.size(), "csv: [" + kSource + "/graphs/data/digits.csv]");
  const auto ck = g.find("checkpoint: {path: digits.ckpt}");
  REQUIRE(ck != std::string::npos);
  std::string with_key = g, with_pass = g;
  with_key.replace(ck, 31, "checkpoint: {path: digits.ckpt, encrypt: {key_file: k.key}}");
  with_pass.replace(ck, 31, "checkpoint: {path: digits.ckpt, encrypt: {passphrase_env: KEEL_CKPT_PASS}}");
  enctest::write_file(dir.file("g.yaml"), Bytes(with_key.begin(), with_key.end()));
  enctest::write_file(dir.file("p.yaml"), Bytes(with_pass.begin(), with_pass.end()));

  run_ok({"run", kTrain, "-q", "-o", dir.file("plain"), "--set", "train.epochs=1"});
  const Bytes reference = enctest::read_file(dir.file("plain") + "/digits.ckpt");

  // The test runs in the build folder: k.key is found next to the graph.
  run_ok({"run", dir.file("g.yaml"), "-q", "-o", dir.file("a"), "--set", "train.epochs=1"});
  CHECK(python_open(dir.file("a") + "/digits.ckpt", dir.file("k.key"), "raw", dir.file("pa")) == reference);

  const std::map<std::string, std::string> env{{"KEEL_CKPT_PASS", "a checkpoint passphrase"}};
  run_ok({"run", dir.file("p.yaml"), "-q", "-o", dir.file("b"), "--set", "train.epochs=1"}, env);
  CHECK(python_open(dir.file("b") + "/digits.ckpt", "a checkpoint passphrase", "scrypt", dir.file("pb")) ==
        reference);

  // An unusable key stops the run before the first step.
  const auto unset =
      run_keel({"run", dir.file("p.yaml"), "-q", "-o", dir.file("c"), "--set", "train.epochs=1"});
  CHECK(unset.exit_code == 2);
  CHECK(unset.err ==
        "keel: error: environment variable KEEL_CKPT_PASS is not set (it should hold the passphrase)\n");
  CHECK_FALSE(fs::exists(dir.file("c") + "/digits.ckpt"));
  fs::permissions(dir.file("k.key"), static_cast<fs::perms>(0644));
  const auto open_key =
      run_keel({"run", dir.file("g.yaml"), "-q", "-o", dir.file("d"), "--set", "train.epochs=1"});
  CHECK(open_key.exit_code == 2);
  CHECK(open_key.err.find("chmod 600 " + dir.file("k.key")) != std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("d") + "/digits.ckpt"));
}
