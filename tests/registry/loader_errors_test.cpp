// Every way a plugin file can be unusable gives its own one-line usage error
// that names the file.
#include <string>
#include <vector>

#include "fixture_files.hpp"
#include "keel/abi.h"
#include "keel/op.hpp"
#include "registry/registry.hpp"

using fixture::load_error;
using fixture::load_message;
using fixture::plugin;

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
  CHECK(load_message(f) == f.string() + ": not a Keel plugin: no 'keel_get_plugin_table' symbol");
}

TEST_CASE("a plugin of the C++ boundary of Keel 1.x is told to rebuild") {
  const auto f = plugin("legacy");
  CHECK(load_message(f) ==
        f.string() +
            ": built for the C++ plugin boundary of Keel 1.x (symbol 'keel_plugin_descriptor'); "
            "rebuild it against this SDK");
}

TEST_CASE("an entry that returns no table is refused") {
  const auto f = plugin("null_table");
  CHECK(load_message(f) == f.string() + ": 'keel_get_plugin_table' returned no table");
}

TEST_CASE("a plugin with a newer ABI integer is refused with one exact line") {
  const auto f = plugin("wrong_abi");
  // Spelled out: this runner's ABI is 4; a plugin built for 5 must say so.
  REQUIRE(KEEL_ABI_VERSION == 4);
  CHECK(load_message(f) == f.string() + ": built for plugin ABI version 5, this runner needs 4");
}

TEST_CASE("a table shorter than its fixed head is refused before any other field is read") {
  const auto f = plugin("short_table");
  // name, version, error, ops, n_ops and op_entry_size follow the two 32-bit
  // fields: 8 + 6 * 8 bytes on x86-64.
  CHECK(load_message(f) == f.string() + ": plugin table is 8 bytes, this runner needs at least 56");
}

TEST_CASE("op entries smaller than this runner's are refused") {
  const auto f = plugin("short_op_entry");
  CHECK(load_message(f) == f.string() + ": op entries are 16 bytes, this runner needs at least " +
                               std::to_string(KEEL_OP_ENTRY_MIN_SIZE));
}

TEST_CASE("a number in a C schema that names no value of its enum is refused") {
  const auto f = plugin("unknown_role");
  CHECK(load_message(f) == f.string() + ": op 'fixture_c_copy' declares an unknown role 9");
}

TEST_CASE("a table laid out before the codec fields were appended loads, and its C op runs") {
  const auto f = plugin("earlier_layout");
  keel::Registry registry;
  keel::load_plugin(registry, f);
  CHECK(registry.codec_names().empty());
  REQUIRE(registry.plugins().size() == 1);
  CHECK(registry.plugins()[0]->name == "fixture_earlier");
  const keel::OpEntry* e = registry.find("fixture_c_copy");
  REQUIRE(e);
  CHECK(e->schema.doc == "y = x, written in C");
  CHECK(e->schema.has_backward);
  keel::OpInstance op = registry.create(*e, keel::Attrs{});
  const std::vector<keel::TensorSpec> in{{keel::DType::f32, {2, 3}}};
  keel::InferContext ictx;
  ictx.inputs = in;
  REQUIRE(op->infer(ictx).ok());
  REQUIRE(ictx.outputs.size() == 1);
  CHECK(ictx.outputs[0] == in[0]);
  const float x[6] = {1, -2, 3.5f, 0, 7, -0.25f};
  float y[6] = {};
  const keel::ConstTensorView xv{keel::DType::f32, in[0].shape, x};
  const keel::TensorView yv{keel::DType::f32, in[0].shape, y};
  REQUIRE(op->forward({{&xv, 1}, {&yv, 1}, {}}).ok());
  for (int i = 0; i < 6; ++i) CHECK(y[i] == x[i]);
}

TEST_CASE("a table without a name is refused") {
  CHECK(load_message(plugin("null_name")) == plugin("null_name").string() + ": plugin table has no name");
}

TEST_CASE("an exception thrown while registering ops becomes an error naming the plugin") {
  const auto f = plugin("throws_in_register");
  auto e = load_error(f);
  REQUIRE(e);
  CHECK(std::string(e->what()) ==
        f.string() + ": registering ops failed: the fixture cannot find its tables");
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
      {"bad_choice_default",
       "attribute 'mode' has default 'max', which is not one of its choices (sum, mean)"},
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
