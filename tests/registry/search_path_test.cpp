// Where plugins are looked for, and in which order.
#include <vector>

#include "fixture_files.hpp"

namespace fs = std::filesystem;
using Paths = std::vector<fs::path>;

TEST_CASE("the bundled plugin folder is lib/keel/plugins beside the runner's bin folder") {
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  const fs::path expected = fs::weakly_canonical(exe.parent_path().parent_path() / "lib/keel/plugins");
  CHECK(keel::bundled_plugin_dir() == expected);
}

TEST_CASE("without KEEL_PLUGIN_PATH the bundled folder comes first, then the command line's") {
  fixture::ScopedEnv env("KEEL_PLUGIN_PATH", std::nullopt);
  fixture::TempDir cli;
  CHECK(keel::plugin_search_path({cli.path()}) == Paths{keel::bundled_plugin_dir(), cli.path()});
}

TEST_CASE(
    "the search path is bundled, then KEEL_PLUGIN_PATH in order, then the command line, without duplicates") {
  fixture::TempDir a, b, c;
  fs::create_directory_symlink(a.path(), c.path() / "link_to_a");
  // Empty entries are skipped; a symlink and a "./" spelling are the same folder.
  const std::string env_value =
      ":" + b.path().string() + "::" + a.path().string() + ":" + (c.path() / "link_to_a").string() + ":";
  fixture::ScopedEnv env("KEEL_PLUGIN_PATH", env_value);
  const Paths cli{c.path(), b.path() / ".", c.path()};
  CHECK(keel::plugin_search_path(cli) == Paths{keel::bundled_plugin_dir(), b.path(), a.path(), c.path()});
}

TEST_CASE("folders that do not exist stay in the search path") {
  fixture::TempDir a;
  const fs::path missing = a.path() / "not_there";
  fixture::ScopedEnv env("KEEL_PLUGIN_PATH", missing.string());
  CHECK(keel::plugin_search_path({}) == Paths{keel::bundled_plugin_dir(), missing});
}

TEST_CASE("a plugin in a KEEL_PLUGIN_PATH folder is found and registered") {
  const fs::path good_dir = fs::canonical(fixture::plugin_dir("good"));
  fixture::ScopedEnv env("KEEL_PLUGIN_PATH", good_dir.string());
  const Paths dirs = keel::plugin_search_path({});
  keel::Registry registry;
  keel::load_plugins(registry, dirs);
  CHECK(registry.searched == dirs);
  const keel::OpEntry* copy = registry.find("fixture_copy");
  REQUIRE(copy);
  CHECK(copy->plugin->file == good_dir / "keel_fixture_good.so");
}
