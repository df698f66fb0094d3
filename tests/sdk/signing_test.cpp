// keel_add_plugin's signing step as a plugin author meets it: the clip
// example built against the installed SDK with KEEL_SIGNING_KEY, signed by
// the installed `keel` after each link, checked by Debian's minisign with
// keys minisign made.
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>

#include "cli_util.hpp"
#include "sdk_util.hpp"

namespace fs = std::filesystem;
using namespace keel::test;

namespace {

constexpr const char* kMinisign = "/usr/bin/minisign";

// `minisign -G` into DIR/NAME.pub and DIR/NAME.key, encrypted with
// `passphrase` unless it is empty.
void minisign_keygen(const fs::path& dir, const std::string& name, const std::string& passphrase = "") {
  const std::string pub = (dir / (name + ".pub")).string(), key = (dir / (name + ".key")).string();
  const std::string script =
      passphrase.empty()
          ? std::string(kMinisign) + " -G -W -p \"$1\" -s \"$2\" </dev/null"
          : "printf '%s\\n%s\\n' \"$3\" \"$3\" | " + std::string(kMinisign) + " -G -p \"$1\" -s \"$2\"";
  const ProcessResult r = run_process({"/bin/sh", "-c", script, "sh", pub, key, passphrase});
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
}

// minisign -V: exit 0 and both signatures verified.
ProcessResult minisign_verify(const fs::path& pub, const fs::path& file) {
  return run_process({kMinisign, "-V", "-p", pub.string(), "-m", file.string()});
}

}  // namespace

TEST_CASE("a plugin built against the installed SDK with KEEL_SIGNING_KEY is signed as minisign checks") {
  INFO("minisign is not installed (scripts/setup installs Debian's minisign, the tests' peer)");
  REQUIRE(fs::exists(kMinisign));
  TempDir keys;
  minisign_keygen(keys.path(), "author");
  const fs::path build = fs::path(KEEL_SDK_WORK_DIR) / "example-clip-signed";
  fs::remove_all(build);
  const fs::path clip = fs::path(KEEL_SOURCE_DIR) / "sdk/examples/clip";
  // The example's own test is not what this checks: left out, to save time.
  const std::vector<std::string> no_test{"-DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON"};
  auto args = no_test;
  args.push_back("-DKEEL_SIGNING_KEY=" + (keys / "author.key").string());
  std::string failure = build_against_install(clip, build, args);
  INFO(failure);
  REQUIRE(failure.empty());
  const fs::path plugin = build / "keel_clip.so";
  ProcessResult v = minisign_verify(keys / "author.pub", plugin);
  INFO(describe(v));
  REQUIRE(v.exit_code == 0);
  CHECK(v.out.find("Signature and comment signature verified") != std::string::npos);

  // `cmake --install` puts the signature beside the plugin.
  const fs::path prefix = build / "prefix";
  ProcessResult install =
      run_process({KEEL_CMAKE_COMMAND, "--install", build.string(), "--prefix", prefix.string()});
  INFO(describe(install));
  REQUIRE(install.exit_code == 0);
  CHECK(minisign_verify(keys / "author.pub", prefix / "lib/keel/plugins/keel_clip.so").exit_code == 0);

  // Another key, encrypted, with its passphrase in the build's environment:
  // the plugin is relinked and signed again, and only the new key verifies.
  minisign_keygen(keys.path(), "release", "plugin pass");
  args = no_test;
  args.push_back("-DKEEL_SIGNING_KEY=" + (keys / "release.key").string());
  args.push_back("-DKEEL_SIGNING_PASSPHRASE_ENV=CLIP_SIGNING_PASS");
  failure = build_against_install(clip, build, args, {{"CLIP_SIGNING_PASS", "plugin pass"}});
  INFO(failure);
  REQUIRE(failure.empty());
  v = minisign_verify(keys / "release.pub", plugin);
  INFO(describe(v));
  CHECK(v.exit_code == 0);
  CHECK(minisign_verify(keys / "author.pub", plugin).exit_code != 0);
}

TEST_CASE("a signing key that does not exist is refused when the plugin's project is configured") {
  const fs::path build = fs::path(KEEL_SDK_WORK_DIR) / "example-clip-no-key";
  fs::remove_all(build);
  TempDir dir;
  const std::string missing = (dir / "missing.key").string();
  const std::string failure =
      build_against_install(fs::path(KEEL_SOURCE_DIR) / "sdk/examples/clip", build,
                            {"-DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON", "-DKEEL_SIGNING_KEY=" + missing});
  CHECK(failure.rfind("configure failed", 0) == 0);
  // CMake wraps the message's lines: compared with single spaces.
  std::string flat;
  for (char c : failure)
    if (!std::isspace(static_cast<unsigned char>(c)))
      flat += c;
    else if (!flat.empty() && flat.back() != ' ')
      flat += ' ';
  CHECK(flat.find("keel_add_plugin(clip): signing key " + missing + " does not exist") != std::string::npos);
}
