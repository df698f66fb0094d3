// The trust policy in-process, through the readers that run it: the plugin
// loader, the graph parser and the checkpoint reader.
//
// 10,000 random single-bit flips across a signed plugin library, a signed
// graph file and a signed checkpoint: every one is refused before the file
// is used. And the loader's check has no gap: a plugin file replaced (by
// rename, or rewritten in place) by a second process between the check and
// the load changes nothing, because what is loaded is the checked copy.
#include "trust/policy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>

#include "base/error.hpp"
#include "base/input_check.hpp"
#include "cli_util.hpp"
#include "graph/parse.hpp"
#include "registry/loader.hpp"
#include "runtime/safetensors.hpp"
#include "trust/secret_key.hpp"
#include "trust/signature.hpp"
#include "trust/verify.hpp"
#include "trust_util.hpp"

using namespace keel::trust;
namespace fs = std::filesystem;

namespace {

// The check is process-wide: installed for one test, removed after it.
class Installed {
 public:
  explicit Installed(std::shared_ptr<const keel::InputCheck> check) {
    keel::set_input_check(std::move(check));
  }
  ~Installed() { keel::set_input_check(nullptr); }
  Installed(const Installed&) = delete;
  Installed& operator=(const Installed&) = delete;
};

// A key pair of the test's, its public key alone in a trust folder.
struct Signer {
  keel::test::TempDir dir;
  std::unique_ptr<SecretKey> key = generate_secret_key();
  fs::path trust = dir / "trust";

  Signer() { dir.write("trust/test.pub", format_public_key(key->public_key())); }

  std::shared_ptr<const keel::InputCheck> policy() const {
    return std::make_shared<RequireSigned>(read_trusted_keys(trust), trust);
  }

  // FILE.minisig for the file as it is now.
  void sign(const fs::path& file) const {
    trusttest::OpenFile f(file);
    const Signature sig =
        sign_file(f.fd(), file.string(), *key, default_trusted_comment(file), "test signature");
    keel::test::write_file(signature_path_for(file), format_signature(sig));
  }
};

// A bundled plugin library whose file name holds `part`.
fs::path bundled_plugin(const std::string& part) {
  for (const auto& e : fs::directory_iterator(fs::path(KEEL_BUILD_DIR) / "lib" / "keel" / "plugins"))
    if (e.path().extension() == ".so" && e.path().filename().string().find(part) != std::string::npos)
      return e.path();
  FAIL("no bundled plugin named like " << part);
  return {};
}

// Flips bit `bit` of byte `at` of `file` in place.
void flip(const fs::path& file, std::uint64_t at, int bit) {
  trusttest::OpenFile f(file, O_RDWR);
  unsigned char c = 0;
  REQUIRE(::pread(f.fd(), &c, 1, static_cast<off_t>(at)) == 1);
  c = static_cast<unsigned char>(c ^ (1u << bit));
  REQUIRE(::pwrite(f.fd(), &c, 1, static_cast<off_t>(at)) == 1);
}

// Runs `use` once per flip at a random bit of `file` (restored after each)
// and requires each to be refused as a bad signature; the unflipped file
// must pass first, so every refusal is the flip's doing.
template <class Use>
void require_every_flip_refused(const fs::path& file, int flips, std::uint32_t seed, Use use) {
  REQUIRE_NOTHROW(use());
  const std::uint64_t size = fs::file_size(file);
  std::mt19937_64 rng(seed);
  int refused = 0;
  for (int i = 0; i < flips; ++i) {
    const std::uint64_t at = rng() % size;
    const int bit = static_cast<int>(rng() % 8);
    flip(file, at, bit);
    try {
      use();
      FAIL_CHECK("a flip of bit " << bit << " of byte " << at << " of " << file << " was accepted");
    } catch (const keel::Error& e) {
      if (e.code() == keel::ExitCode::usage && e.message().rfind("bad signature", 0) == 0)
        ++refused;
      else
        FAIL_CHECK("flip " << at << ":" << bit << " refused for another reason: " << e.format());
    }
    flip(file, at, bit);
  }
  CHECK(refused == flips);
}

const std::string kGraph = R"(keel: 1
name: flips
inputs:
  x: {dtype: f32, shape: [batch, 4]}
nodes:
  - {name: fc, op: linear, inputs: [x], attrs: {units: 3}}
  - {name: act, op: relu, inputs: [fc]}
outputs: [act]
)";

}  // namespace

TEST_CASE("10000 single-bit flips across a signed plugin, graph and checkpoint are each refused") {
  Signer s;
  // The smallest bundled plugin keeps the 3,334 checks of the library (each
  // a copy and a hash) to seconds.
  fs::path smallest;
  for (const auto& e : fs::directory_iterator(fs::path(KEEL_BUILD_DIR) / "lib" / "keel" / "plugins"))
    if (e.path().extension() == ".so" &&
        (smallest.empty() || fs::file_size(e.path()) < fs::file_size(smallest)))
      smallest = e.path();
  REQUIRE_FALSE(smallest.empty());
  const fs::path plugin = s.dir / smallest.filename();
  fs::copy_file(smallest, plugin);
  s.sign(plugin);
  const fs::path graph = s.dir.write("graph.yaml", kGraph);
  s.sign(graph);
  keel::TensorFile ckpt;
  ckpt.tensors.emplace_back("fc.weight", keel::test::random_tensor({32, 64}, 3));
  ckpt.tensors.emplace_back("fc.bias", keel::test::random_tensor({32}, 4));
  ckpt.metadata["format"] = "keel-checkpoint-1";
  const fs::path checkpoint = s.dir / "model.ckpt";
  keel::write_safetensors(checkpoint, ckpt);
  s.sign(checkpoint);

  const Installed installed(s.policy());
  require_every_flip_refused(plugin, 3334, 1, [&] {
    keel::Registry registry;
    keel::load_plugin(registry, plugin);
  });
  require_every_flip_refused(graph, 3333, 2, [&] { (void)keel::parse_graph_file(graph); });
  require_every_flip_refused(checkpoint, 3333, 3, [&] { (void)keel::read_safetensors(checkpoint); });
}

namespace {

// The policy's check of a plugin, then a second process that replaces the
// file (`how`): what happens between the loader's check and its load.
class ReplaceAfterCheck final : public keel::InputCheck {
 public:
  ReplaceAfterCheck(std::shared_ptr<const keel::InputCheck> policy, std::string command)
      : policy_(std::move(policy)), command_(std::move(command)) {}
  void check_bytes(std::string_view bytes, const fs::path& file) const override {
    policy_->check_bytes(bytes, file);
  }
  void check_fd(int fd, const fs::path& file) const override {
    policy_->check_fd(fd, file);
    const auto r = trusttest::shell(command_);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    ++replaced;
  }
  mutable int replaced = 0;

 private:
  std::shared_ptr<const keel::InputCheck> policy_;
  std::string command_;
};

}  // namespace

TEST_CASE("a plugin replaced between the check and the load is not what gets loaded") {
  Signer s;
  const fs::path plugin = s.dir / "plugin.so", other = s.dir / "other.so";
  fs::copy_file(bundled_plugin("residual"), plugin);
  fs::copy_file(bundled_plugin("anomaly"), other);
  s.sign(plugin);
  const std::string other_bytes = keel::test::slurp(other);
  using trusttest::quote;
  // Renamed over the file (a new inode), or rewritten in place (same inode).
  for (const std::string& command :
       {"cp " + quote(other.string()) + " " + quote((s.dir / "next.so").string()) + " && mv " +
            quote((s.dir / "next.so").string()) + " " + quote(plugin.string()),
        "cat " + quote(other.string()) + " > " + quote(plugin.string())}) {
    INFO(command);
    fs::copy_file(bundled_plugin("residual"), plugin, fs::copy_options::overwrite_existing);
    auto check = std::make_shared<ReplaceAfterCheck>(s.policy(), command);
    const Installed installed(check);
    keel::Registry registry;
    keel::load_plugin(registry, plugin);
    REQUIRE(check->replaced == 1);
    REQUIRE(keel::test::slurp(plugin) == other_bytes);  // the file on disk is the other plugin now
    // What was loaded is the plugin that was checked.
    REQUIRE(registry.plugins().size() == 1);
    CHECK(registry.plugins().front()->name == "residual");
    CHECK(registry.find("row_distance") == nullptr);
    // Loaded afresh, the replaced file is refused: it is not what was signed.
    keel::Registry again;
    CHECK_THROWS_WITH(keel::load_plugin(again, plugin), Catch::Contains("bad signature"));
  }
}
