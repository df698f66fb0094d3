// The bundled plugins as the build signs them (KEEL_SIGN_PLUGINS, the
// default): the build's key pair in build/signing/, its public key in the
// build tree's trust folder, and a signature beside each bundled plugin that
// Debian's minisign accepts with that public key.
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "cli_util.hpp"
#include "trust_util.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kBuild = KEEL_BUILD_DIR;
const fs::path kTrustedKey = kBuild / "share/keel/trust/keel-build.pub";
const fs::path kPluginDir = kBuild / "lib/keel/plugins";

void require_minisign_verifies(const fs::path& file) {
  INFO(file.string());
  REQUIRE(fs::is_regular_file(file.string() + ".minisig"));
  const auto r =
      keel::test::run_process({trusttest::kMinisign, "-V", "-p", kTrustedKey.string(), "-m", file.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Signature and comment signature verified") != std::string::npos);
}

}  // namespace

TEST_CASE("the build trusts its own signing key and keeps the secret key to its owner") {
  REQUIRE(fs::is_regular_file(kTrustedKey));
  CHECK(keel::test::slurp(kTrustedKey) == keel::test::slurp(kBuild / "signing/keel-build.pub"));
  const fs::perms none = fs::perms::none;
  const fs::perms key = fs::status(kBuild / "signing/keel-build.key").permissions();
  CHECK((key & (fs::perms::group_all | fs::perms::others_all)) == none);
  const fs::perms dir = fs::status(kBuild / "signing").permissions();
  CHECK((dir & (fs::perms::group_all | fs::perms::others_all)) == none);
}

TEST_CASE("every bundled plugin is signed by the build key, as minisign checks") {
  trusttest::require_minisign();
  // The bundled plugins by name (tests/trust/CMakeLists.txt), so that an
  // empty folder cannot pass.
  std::istringstream names(KEEL_BUNDLED_PLUGIN_FILES);
  int named = 0;
  for (std::string name; names >> name; ++named) require_minisign_verifies(kPluginDir / name);
  CHECK(named >= 7);
  // And whatever else is in the folder the runner searches first.
  for (const auto& e : fs::directory_iterator(kPluginDir))
    if (e.path().extension() == ".so") require_minisign_verifies(e.path());
}
