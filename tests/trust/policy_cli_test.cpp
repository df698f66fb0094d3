// The trust policy end to end: `keel run --require-signed` (or
// KEEL_REQUIRE_SIGNED=1) runs only what trusted keys signed (graph, data,
// checkpoints, plugins) and refuses anything else with one line and exit 2;
// training signs its checkpoints (train.checkpoint.sign) in a form Debian's
// minisign accepts; `keel plugins` shows each plugin's signature state.
//
// The bundled plugins are signed by the build's key (its public key in
// BUILD/share/keel/trust); each test's trust folder holds that key and the
// test's own.
#include <catch2/catch.hpp>
#include <set>

#include "cli_util.hpp"
#include "runtime/npy.hpp"
#include "trust_util.hpp"

using keel::test::run_keel;
using keel::test::slurp;
using keel::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kGraph = R"(keel: 1
name: tiny-regression
inputs:
  features: {dtype: f32, shape: [batch, 2]}
  target:   {dtype: f32, shape: [batch]}
nodes:
  - {name: fit, op: linear, inputs: [features], attrs: {units: 1}}
  - {name: pred, op: reshape, inputs: [fit], attrs: {shape: [-1]}}
  - {name: loss, op: mse, inputs: [pred, target]}
outputs: [pred]
train:
  loss: loss
  data: {csv: [rows.csv], columns: {features: "0:2", target: 2}, batch: 4, shuffle: false}
  steps: 3
  optimizer: {op: sgd, lr: 0.01}
  checkpoint: {path: model.ckpt, sign: {secret_key: signer.key}}
)";

const std::string kInferGraph = R"(keel: 1
name: tiny-regression
inputs:
  features: {dtype: f32, shape: [batch, 2]}
nodes:
  - {name: fit, op: linear, inputs: [features], attrs: {units: 1}}
outputs: [fit]
)";

// A folder with a signing key (signer.key / signer.pub), the graphs and the
// data, and a trust folder holding the build's keys and signer.pub.
struct Workspace {
  TempDir dir;
  fs::path trust = dir / "trust";
  std::string key_id;

  Workspace() {
    key_id = keygen("signer");
    fs::create_directories(trust);
    for (const auto& e : fs::directory_iterator(fs::path(KEEL_BUILD_DIR) / "share" / "keel" / "trust"))
      if (e.path().extension() == ".pub") fs::copy_file(e.path(), trust / e.path().filename());
    fs::copy_file(dir / "signer.pub", trust / "signer.pub");
    dir.write("train.yaml", kGraph);
    dir.write("infer.yaml", kInferGraph);
    dir.write("rows.csv", "1,2,3\n2,1,4\n0,1,1\n3,3,6\n");
    keel::write_npy(dir / "x.npy", keel::test::random_tensor({3, 2}, 7));
  }

  // A key pair NAME.key / NAME.pub in the folder; its key ID.
  std::string keygen(const std::string& name) const {
    const auto r = run_keel({"keygen", "--sign", (dir / name).string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto at = r.out.find("key ID ");
    REQUIRE(at != std::string::npos);
    return r.out.substr(at + 7, 16);
  }

  void sign(const std::string& name, const std::string& key = "signer") const {
    const auto r =
        run_keel({"sign", (dir / name).string(), "--secret-key", (dir / (key + ".key")).string(), "-q"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }

  std::vector<std::string> train_args() const {
    return {"run",         (dir / "train.yaml").string(), "-o", (dir / "out").string(), "-q", "--trust",
            trust.string()};
  }
};

void require_refused(const keel::test::ProcessResult& r, const std::string& line) {
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "keel: error: " + line + "\n");
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace

TEST_CASE(
    "require-signed trains from a signed graph and data and signs each checkpoint as minisign verifies") {
  trusttest::require_minisign();
  Workspace w;
  w.sign("train.yaml");
  w.sign("rows.csv");
  const auto r = run_keel(with(w.train_args(), {"--require-signed"}));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const fs::path ckpt = w.dir / "out" / "model.ckpt";
  REQUIRE(fs::exists(ckpt.string() + ".minisig"));
  // Debian's minisign is the reference: the checkpoint's signature is good
  // under the signer's public key, and names the step in its trusted comment.
  const auto v =
      trusttest::shell(std::string(trusttest::kMinisign) + " -Vm " + trusttest::quote(ckpt.string()) +
                       " -p " + trusttest::quote((w.dir / "signer.pub").string()));
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("\tstep:3") != std::string::npos);

  // Inference under the policy from that checkpoint, with a signed input.
  w.sign("infer.yaml");
  w.sign("x.npy");
  const auto run = run_keel({"run", (w.dir / "infer.yaml").string(), "--params", ckpt.string(), "-i",
                             "features=" + (w.dir / "x.npy").string(), "-o", (w.dir / "infer").string(), "-q",
                             "--require-signed", "--trust", w.trust.string()});
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(fs::exists(w.dir / "infer" / "fit.npy"));
}

TEST_CASE("require-signed refuses an unsigned graph, naming it, before anything runs") {
  Workspace w;
  const std::string graph = (w.dir / "train.yaml").string();
  require_refused(run_keel(with(w.train_args(), {"--require-signed"})),
                  graph +
                      ": not signed: train.yaml.minisig does not exist, and signatures are required "
                      "(--require-signed)");
  CHECK_FALSE(fs::exists(w.dir / "out"));
  // The environment policy says the same; a value other than 0 or 1 is an error.
  require_refused(run_keel(w.train_args(), {{"KEEL_REQUIRE_SIGNED", "1"}}),
                  graph +
                      ": not signed: train.yaml.minisig does not exist, and signatures are required "
                      "(--require-signed)");
  require_refused(run_keel(w.train_args(), {{"KEEL_REQUIRE_SIGNED", "yes"}}),
                  "KEEL_REQUIRE_SIGNED is 'yes'; it must be 1 (require signatures) or 0");
  // Without the policy the same files run.
  const auto r = run_keel(w.train_args(), {{"KEEL_REQUIRE_SIGNED", "0"}});
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("require-signed refuses a graph changed after signing and one signed by an untrusted key") {
  Workspace w;
  const std::string graph = (w.dir / "train.yaml").string();
  w.sign("rows.csv");
  w.sign("train.yaml");
  w.dir.write("train.yaml", kGraph + "# one line more\n");
  require_refused(
      run_keel(with(w.train_args(), {"--require-signed"})),
      graph + ": bad signature: the file or its signature was modified (key ID " + w.key_id + ")");

  // Another file's signature, and a signature cut short.
  fs::copy_file(w.dir / "rows.csv.minisig", graph + ".minisig", fs::copy_options::overwrite_existing);
  require_refused(
      run_keel(with(w.train_args(), {"--require-signed"})),
      graph + ": bad signature: the file or its signature was modified (key ID " + w.key_id + ")");
  const std::string sig = slurp(graph + ".minisig");
  w.dir.write("train.yaml.minisig", sig.substr(0, sig.find('\n', sig.find('\n') + 1) + 1));
  require_refused(run_keel(with(w.train_args(), {"--require-signed"})),
                  graph + ".minisig: truncated minisign signature: 2 of its 4 lines");

  const std::string other = w.keygen("other");
  w.sign("train.yaml", "other");
  require_refused(run_keel(with(w.train_args(), {"--require-signed"})),
                  graph + ": signed by key ID " + other +
                      ", which is not a trusted key (trusted keys: " + w.trust.string() + ")");
  // Trusted once its public key is in the trust folder, named by KEEL_TRUST.
  fs::copy_file(w.dir / "other.pub", w.trust / "other.pub");
  auto args = w.train_args();
  args.resize(args.size() - 2);  // no --trust: KEEL_TRUST names the folder
  const auto r = run_keel(args, {{"KEEL_TRUST", w.trust.string()}, {"KEEL_REQUIRE_SIGNED", "1"}});
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("require-signed refuses unsigned data, an unsigned input and an unsigned or changed checkpoint") {
  Workspace w;
  w.sign("train.yaml");
  const auto data = run_keel(with(w.train_args(), {"--require-signed"}));
  INFO(data.err);
  CHECK(data.exit_code == 2);
  CHECK(data.err.find("rows.csv: not signed: rows.csv.minisig does not exist") != std::string::npos);
  CHECK_FALSE(fs::exists(w.dir / "out" / "model.ckpt"));

  w.sign("rows.csv");
  REQUIRE(run_keel(w.train_args()).exit_code == 0);
  const std::string ckpt = (w.dir / "out" / "model.ckpt").string();
  w.sign("infer.yaml");
  auto infer = [&](const std::vector<std::string>& more) {
    return run_keel(with({"run", (w.dir / "infer.yaml").string(), "-o", (w.dir / "infer").string(), "-q",
                          "--require-signed", "--trust", w.trust.string()},
                         more));
  };
  const std::string input = "features=" + (w.dir / "x.npy").string();
  require_refused(
      infer({"--params", ckpt, "-i", input}),
      (w.dir / "x.npy").string() +
          ": not signed: x.npy.minisig does not exist, and signatures are required (--require-signed)");
  w.sign("x.npy");
  // The checkpoint training signed, changed by one byte at its end.
  std::string bytes = slurp(ckpt);
  bytes.back() = static_cast<char>(bytes.back() ^ 1);
  keel::test::write_file(ckpt, bytes);
  require_refused(infer({"--params", ckpt, "-i", input}),
                  ckpt + ": bad signature: the file or its signature was modified (key ID " + w.key_id + ")");
  fs::remove(ckpt + ".minisig");
  require_refused(infer({"--params", ckpt, "-i", input}),
                  ckpt +
                      ": not signed: model.ckpt.minisig does not exist, and signatures are required "
                      "(--require-signed)");
  CHECK_FALSE(fs::exists(w.dir / "infer" / "fit.npy"));
}

TEST_CASE("require-signed refuses an unsigned plugin library before loading it") {
  Workspace w;
  w.sign("infer.yaml");
  // A copy of a bundled plugin in a folder of its own, without a signature:
  // refused before it is loaded (loaded, its ops would clash with the
  // bundled ones and say so instead).
  const fs::path plugins = w.dir / "plugins";
  fs::create_directories(plugins);
  const fs::path bundled = fs::path(KEEL_BUILD_DIR) / "lib" / "keel" / "plugins";
  fs::path copy;
  for (const auto& e : fs::directory_iterator(bundled))
    if (e.path().extension() == ".so" && e.path().filename().string().find("residual") != std::string::npos)
      copy = plugins / e.path().filename();
  REQUIRE_FALSE(copy.empty());
  fs::copy_file(bundled / copy.filename(), copy);
  require_refused(run_keel({"validate", (w.dir / "infer.yaml").string(), "--plugin-path", plugins.string(),
                            "--require-signed", "--trust", w.trust.string()}),
                  copy.string() + ": not signed: " + copy.filename().string() +
                      ".minisig does not exist, and signatures are required (--require-signed)");
  // Signed by a key the trust folder does not hold.
  const std::string other = w.keygen("other");
  const auto s = run_keel({"sign", copy.string(), "--secret-key", (w.dir / "other.key").string(), "-q"});
  REQUIRE(s.exit_code == 0);
  require_refused(run_keel({"validate", (w.dir / "infer.yaml").string(), "--plugin-path", plugins.string(),
                            "--require-signed", "--trust", w.trust.string()}),
                  copy.string() + ": signed by key ID " + other +
                      ", which is not a trusted key (trusted keys: " + w.trust.string() + ")");
}

TEST_CASE("require-signed with a trust folder that holds no key is refused, naming the folder") {
  Workspace w;
  const fs::path empty = w.dir / "empty";
  fs::create_directories(empty);
  require_refused(
      run_keel({"validate", (w.dir / "infer.yaml").string(), "--require-signed", "--trust", empty.string()}),
      "signatures are required (--require-signed), but the trust folder '" + empty.string() +
          "' holds no public key (*.pub); give one with --trust DIR or KEEL_TRUST");
  // A file in the trust folder that is not a public key is named.
  w.dir.write("trust/broken.pub", "not a key\n");
  const auto r = run_keel(
      {"validate", (w.dir / "infer.yaml").string(), "--require-signed", "--trust", w.trust.string()});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("keel: error: " + (w.trust / "broken.pub").string() + ":", 0) == 0);
}

TEST_CASE("keel plugins shows whether each plugin is signed by a trusted key") {
  Workspace w;
  // The build's key trusts the bundled plugins; a folder without it does not.
  const auto trusted = run_keel({"plugins", "--trust", w.trust.string()});
  INFO(trusted.err);
  REQUIRE(trusted.exit_code == 0);
  CHECK(trusted.out.find("  signature: signed by trusted key ID ") != std::string::npos);
  CHECK(trusted.out.find("  signature: unsigned") == std::string::npos);
  const fs::path only_signer = w.dir / "only-signer";
  fs::create_directories(only_signer);
  fs::copy_file(w.dir / "signer.pub", only_signer / "signer.pub");
  const auto untrusted = run_keel({"plugins", "--json", "--trust", only_signer.string()});
  REQUIRE(untrusted.exit_code == 0);
  CHECK(untrusted.out.find("\"trusted_keys\":1") != std::string::npos);
  CHECK(untrusted.out.find(", which is not a trusted key\"") != std::string::npos);
  CHECK(untrusted.out.find("\"signature\":\"signed by trusted key ID") == std::string::npos);
}

TEST_CASE("a checkpoint signing key that others may read is refused before training") {
  Workspace w;
  fs::permissions(w.dir / "signer.key", fs::perms::group_read, fs::perm_options::add);
  const auto r = run_keel(w.train_args());
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("signer.key: secret key file is accessible by group or others (mode 0640)") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(w.dir / "out" / "model.ckpt"));
}

TEST_CASE("a sealed checkpoint can be signed too and is loaded under require-signed with its key") {
  Workspace w;
  REQUIRE(run_keel({"keygen", (w.dir / "seal.key").string(), "-q"}).exit_code == 0);
  std::string graph = kGraph;
  graph.replace(graph.find("sign: {"), 0, "encrypt: {key_file: seal.key}, ");
  w.dir.write("train.yaml", graph);
  w.sign("train.yaml");
  w.sign("rows.csv");
  w.sign("infer.yaml");
  w.sign("x.npy");
  const auto t = run_keel(with(w.train_args(), {"--require-signed"}));
  INFO(t.err);
  REQUIRE(t.exit_code == 0);
  const std::string ckpt = (w.dir / "out" / "model.ckpt").string();
  CHECK(slurp(ckpt).find("__metadata__") == std::string::npos);  // sealed, not plain safetensors
  const auto r =
      run_keel({"run", (w.dir / "infer.yaml").string(), "--params", ckpt, "--key-file",
                (w.dir / "seal.key").string(), "-i", "features=" + (w.dir / "x.npy").string(), "-o",
                (w.dir / "infer").string(), "-q", "--require-signed", "--trust", w.trust.string()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
}
