// Every way a plugin file can be unusable gives its own one-line usage error
// that names the file.
#include <oneapi/dnnl/dnnl_version.h>

#include <string>

#include "fixture_files.hpp"
#include "keel/version.hpp"

using fixture::load_error;
using fixture::load_message;
using fixture::plugin;

namespace {

// The runner's fingerprint, spelled out independently of the SDK macros.
std::string runner_compiler() { return "gcc " + std::to_string(__GNUC__); }
std::string runner_stdlib() { return "libstdc++ " + std::to_string(_GLIBCXX_RELEASE) + " cxx11"; }
std::string runner_dnnl() {
  return std::to_string(DNNL_VERSION_MAJOR) + "." + std::to_string(DNNL_VERSION_MINOR) + "." +
         std::to_string(DNNL_VERSION_PATCH);
}

}  // namespace

TEST_CASE("loading a file that does not exist says it was not found") {
  const auto f = fixture::plugin_dir("good") / "keel_fixture_nonexistent.so";
  CHECK(load_message(f) == "plugin file not found: " + f.string());
}

TEST_CASE("loading a folder as a plugin says it is not a regular file") {
  const auto f = fixture::plugin_dir("good");
  CHECK(load_message(f) == f.string() + ": not a regular file");
}

TEST_CASE("a text file named .so is not a shared library") {
  fixture::TempDir dir;
  std::string text;
  for (int i = 0; i < 10; ++i) text += "this line is text, not an ELF header\n";
  const auto f = dir.write("text.so", text);
  CHECK(load_message(f) == f.string() + ": not a shared library (invalid ELF header)");
}

TEST_CASE("an empty file named .so is not a shared library") {
  fixture::TempDir dir;
  const auto f = dir.write("empty.so", "");
  CHECK(load_message(f) == f.string() + ": not a shared library (file too short)");
}

TEST_CASE("a plugin with an unresolved symbol fails at load and names the symbol") {
  const auto f = plugin("undefined_symbol");
  CHECK(load_message(f) ==
        f.string() + ": cannot be loaded: undefined symbol keel_fixture_function_defined_nowhere");
}

TEST_CASE("a shared library without the entry symbol is not a Keel plugin") {
  const auto f = plugin("no_entry");
  CHECK(load_message(f) == f.string() + ": not a Keel plugin: no 'keel_plugin_descriptor' symbol");
}

TEST_CASE("an entry that returns no descriptor is refused") {
  const auto f = plugin("null_descriptor");
  CHECK(load_message(f) == f.string() + ": 'keel_plugin_descriptor' returned no descriptor");
}

TEST_CASE("a plugin for another ABI version names both versions") {
  const auto f = plugin("wrong_abi");
  CHECK(load_message(f) == f.string() + ": built for plugin ABI version " +
                               std::to_string(KEEL_ABI_VERSION + 1) + ", this runner needs " +
                               std::to_string(KEEL_ABI_VERSION));
}

TEST_CASE("a descriptor shorter than this runner's is refused before its fingerprint is read") {
  const auto f = plugin("short_struct");
  // Two 32-bit fields and one pointer, against two and seven on x86-64.
  CHECK(load_message(f) == f.string() + ": plugin descriptor is 16 bytes, this runner needs at least 64");
}

TEST_CASE("a descriptor that ends before register_codecs loads, with no codecs") {
  // Its codec slot holds a function that throws: reading it would fail the load.
  const auto f = plugin("sdk10_size");
  keel::Registry registry;
  keel::load_plugin(registry, f);
  CHECK(registry.codec_names().empty());
  REQUIRE(registry.plugins().size() == 1);
  CHECK(registry.plugins()[0]->codecs.empty());
}

TEST_CASE("a fingerprint mismatch names the field, the plugin's value and the runner's") {
  SECTION("compiler") {
    const auto f = plugin("compiler_mismatch");
    CHECK(load_message(f) == f.string() + ": built with compiler 'clang 99', this runner was built with '" +
                                 runner_compiler() + "'");
  }
  SECTION("standard library") {
    const auto f = plugin("stdlib_mismatch");
    CHECK(load_message(f) == f.string() + ": built with standard library 'libc++ 1', this runner was built with '" +
                                 runner_stdlib() + "'");
  }
  SECTION("oneDNN version") {
    const auto f = plugin("dnnl_mismatch");
    CHECK(load_message(f) == f.string() + ": built with oneDNN version '9.9.9', this runner was built with '" +
                                 runner_dnnl() + "'");
  }
}

TEST_CASE("a descriptor without a name or a register function is refused") {
  CHECK(load_message(plugin("null_name")) == plugin("null_name").string() + ": plugin descriptor has no name");
  CHECK(load_message(plugin("null_register")) ==
        plugin("null_register").string() + ": plugin descriptor has no register_ops function");
}

TEST_CASE("an exception thrown while registering ops becomes an error naming the plugin") {
  const auto f = plugin("throws_in_register");
  auto e = load_error(f);
  REQUIRE(e);
  CHECK(std::string(e->what()) == f.string() + ": registering ops failed: the fixture cannot find its tables");
  CHECK(e->subject().plugin == "fixture_throws");
}

TEST_CASE("a malformed op schema is refused, naming the file, the op and the defect") {
  struct Case {
    const char* fixture;
    const char* defect;
  };
  const Case cases[] = {
      {"bad_duplicate_attr", "attribute 'alpha' is declared twice"},
      {"bad_duplicate_input", "input 'x' is declared twice"},
      {"bad_duplicate_param", "parameter 'weight' is declared twice"},
      {"bad_default_type", "attribute 'alpha' is float but its default is string"},
      {"bad_min_over_max", "attribute 'alpha' has min 2 > max 1"},
      {"bad_choice_default", "attribute 'mode' has default 'max', which is not one of its choices (sum, mean)"},
      {"bad_null_factory", "has no factory"},
  };
  for (const Case& c : cases) {
    INFO(c.fixture);
    const auto f = plugin(c.fixture);
    auto e = load_error(f);
    REQUIRE(e);
    CHECK(std::string(e->what()) == f.string() + ": op 'fixture_bad' " + c.defect);
    CHECK(e->subject().op == "fixture_bad");
    CHECK(e->subject().plugin == "fixture_bad_schema");
  }
}

TEST_CASE("an op with an empty name is refused by its position") {
  const auto f = plugin("bad_empty_op_name");
  CHECK(load_message(f) == f.string() + ": op #1 has an empty name");
}
