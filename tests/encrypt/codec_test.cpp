// The plugin's file codecs as the runner sees them: read from the plugin's
// C table, and used through keel::Codec only, across the C boundary.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <sstream>

#include "plugin_module.hpp"
#include "test_support.hpp"

using enctest::Bytes;

namespace {

// The module's codecs, read from its table as the runner reads them.
struct Recorder {
  explicit Recorder(const keel_plugin_table& table) {
    for (keel::ImportedCodecEntry& c : keel::import_plugin(table).codecs) {
      order.push_back(c.name);
      docs[c.name] = c.doc;
      factories[c.name] = std::move(c.make);
    }
  }
  std::vector<std::string> order;
  std::map<std::string, std::string> docs;
  std::map<std::string, keel::CodecMaker> factories;
};

std::span<const std::uint8_t> head(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("the encrypt plugin registers the keel and fernet codecs, which seal, open and write keys") {
  enctest::TempDir dir;
  plugintest::PluginModule module(KEEL_ENCRYPT_PLUGIN_PATH);
  const keel_plugin_table* t = module.table();
  REQUIRE(t->table_size == sizeof(keel_plugin_table));
  REQUIRE(t->codec_entry_size == sizeof(keel_codec_entry));
  Recorder r(*t);
  REQUIRE(r.order == std::vector<std::string>{"keel", "fernet"});

  for (const std::string name : {"keel", "fernet"}) {
    INFO(name);
    CHECK_FALSE(r.docs[name].empty());
    auto codec = r.factories[name]();
    // A key written by the codec, as `keel keygen` stores it.
    std::ostringstream key_text;
    REQUIRE(codec->keygen(key_text).ok());
    const std::string key = dir.file(name + ".key");
    { std::ofstream(key) << key_text.str(); }
    std::filesystem::permissions(key,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    CHECK(enctest::python("import sys; from cryptography.fernet import Fernet; Fernet(open(sys.argv[1], "
                          "'rb').read().strip()); print('ok')",
                          {key}) == "ok");
    const keel::KeySource source{key, ""};
    CHECK(codec->check_key(source).ok());

    const Bytes plain = enctest::pattern(70000, 2);
    std::istringstream in(std::string(plain.begin(), plain.end()));
    std::ostringstream sealed;
    REQUIRE(codec->seal(in, sealed, {source, -1}).ok());
    CHECK(codec->recognizes(head(sealed.str().substr(0, 64))));
    CHECK_FALSE(codec->recognizes(head("not sealed at all")));
    std::istringstream sin(sealed.str());
    std::ostringstream opened;
    REQUIRE(codec->open(sin, opened, {source, -1}).ok());
    CHECK(opened.str() == std::string(plain.begin(), plain.end()));

    std::istringstream garbage("gAAAAAgarbage");
    std::ostringstream ignored;
    CHECK_FALSE(codec->open(garbage, ignored, {source, -1}).ok());
  }

  auto fernet = r.factories["fernet"]();
  const auto st = fernet->check_key({"", "HOME"});
  CHECK(st.message() == "Fernet needs a key file; a passphrase cannot be used");
  auto keel_codec = r.factories["keel"]();
  CHECK(keel_codec->check_key({}).message() == "no key given");
  CHECK(keel_codec->check_key({dir.file("missing.key"), ""}).message() ==
        "cannot open key file '" + dir.file("missing.key") + "': No such file or directory");
}
