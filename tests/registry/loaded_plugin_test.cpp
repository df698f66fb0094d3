// What a successfully loaded plugin gives the engine, and what the library's
// lifetime is tied to.
#include <optional>
#include <vector>

#include "fixture_files.hpp"
#include "keel/op.hpp"

using fixture::plugin;
using fixture::plugin_dir;
using Strings = std::vector<std::string>;

namespace {

// Runs one forward of a single-input, single-output f32 op.
std::vector<float> run_forward(keel::Op& op, const std::vector<float>& x) {
  const keel::Shape shape{static_cast<keel::Dim>(x.size())};
  std::vector<float> y(x.size(), -999.0f);
  const keel::ConstTensorView in{keel::DType::f32, shape, x.data()};
  const keel::TensorView out{keel::DType::f32, shape, y.data()};
  keel::ForwardContext ctx;
  ctx.inputs = {&in, 1};
  ctx.outputs = {&out, 1};
  const keel::Status s = op.forward(ctx);
  REQUIRE(s.ok());
  return y;
}

}  // namespace

TEST_CASE("a well-formed plugin registers its ops under its name, version and file") {
  keel::Registry registry;
  keel::load_plugin(registry, plugin("good"));

  CHECK(registry.op_names() == Strings{"fixture_copy", "fixture_unbuildable"});
  REQUIRE(registry.plugins().size() == 1);
  const auto& info = *registry.plugins()[0];
  CHECK(info.name == "fixture_good");
  CHECK(info.version == "1.2.3");
  CHECK(info.file == plugin("good"));
  CHECK(info.ops == Strings{"fixture_copy", "fixture_unbuildable"});

  const keel::OpEntry* copy = registry.find("fixture_copy");
  REQUIRE(copy);
  CHECK(copy->plugin.get() == &info);
  CHECK(copy->schema.doc == "Copies its input, multiplied by scale.");
  REQUIRE(copy->schema.attrs.size() == 1);
  CHECK(copy->schema.attrs[0].name == "scale");
  CHECK(copy->schema.attrs[0].type == keel::AttrType::Float);
  CHECK(std::get<double>(*copy->schema.attrs[0].default_value) == 1.0);
}

TEST_CASE("an op made by a plugin keeps its library loaded after the registry is gone") {
  const auto file = plugin("good");
  REQUIRE_FALSE(fixture::is_mapped(file));
  std::optional<keel::OpInstance> op;
  {
    keel::Registry registry;
    keel::load_plugin(registry, file);
    op.emplace(registry.create(*registry.find("fixture_copy"), keel::Attrs({{"scale", 2.5}})));
  }
  CHECK(fixture::is_mapped(file));

  const std::vector<float> x{1.0f, -2.0f, 0.5f, 8.0f};
  const std::vector<float> y = run_forward(**op, x);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(y[i] == 2.5f * x[i]);

  op.reset();
  CHECK_FALSE(fixture::is_mapped(file));  // the op was the last holder
}

TEST_CASE("a factory that throws becomes an error naming the op and the plugin") {
  keel::Registry registry;
  keel::load_plugin(registry, plugin("good"));
  try {
    (void)registry.create(*registry.find("fixture_unbuildable"), keel::Attrs());
    FAIL("the factory did not throw");
  } catch (const keel::Error& e) {
    CHECK(std::string(e.what()).find("this fixture op refuses to be built") != std::string::npos);
    CHECK(e.subject().op == "fixture_unbuildable");
    CHECK(e.subject().plugin == "fixture_good");
  }
}

TEST_CASE("a second plugin registering the same op is refused, naming both files") {
  keel::Registry registry;
  keel::load_plugin(registry, plugin("good"));
  try {
    keel::load_plugin(registry, plugin("duplicate"));
    FAIL("the duplicate op was accepted");
  } catch (const keel::Error& e) {
    CHECK(std::string(e.what()) == "op 'fixture_copy' is registered by two plugins: '" +
                                       plugin("good").string() + "' and '" + plugin("duplicate").string() +
                                       "'");
    CHECK(e.code() == keel::ExitCode::usage);
  }
  REQUIRE(registry.plugins().size() == 1);
  CHECK(registry.find("fixture_copy")->plugin->name == "fixture_good");
}

TEST_CASE("loading a folder loads every .so file in name order and nothing else") {
  fixture::TempDir dir;
  namespace fs = std::filesystem;
  fs::copy_file(plugin("good"), dir.path() / "b_good.so");
  fs::copy_file(plugin("other"), dir.path() / "a_other.so");
  // None of these may be tried: each would fail to load.
  dir.write("notes.txt", "not a plugin");
  dir.write("libsomething.so.1", "not a plugin either");
  fs::create_directory(dir.path() / "folder.so");

  keel::Registry registry;
  keel::load_plugins(registry, {dir.path()});
  REQUIRE(registry.plugins().size() == 2);
  CHECK(registry.plugins()[0]->name == "fixture_other");
  CHECK(registry.plugins()[0]->file == dir.path() / "a_other.so");
  CHECK(registry.plugins()[1]->name == "fixture_good");
  CHECK(registry.op_names() == Strings{"fixture_copy", "fixture_negate", "fixture_unbuildable"});
  CHECK(registry.searched == std::vector<fs::path>{dir.path()});
}

TEST_CASE("a folder that does not exist is recorded as searched and yields nothing") {
  const auto missing = plugin_dir("no_such_case");
  keel::Registry registry;
  keel::load_plugins(registry, {missing, plugin_dir("other")});
  CHECK(registry.searched == std::vector<std::filesystem::path>{missing, plugin_dir("other")});
  CHECK(registry.op_names() == Strings{"fixture_negate"});
}

TEST_CASE("a broken plugin in a folder stops the load with its own message") {
  keel::Registry registry;
  CHECK_THROWS_WITH(keel::load_plugins(registry, {plugin_dir("wrong_abi")}),
                    Catch::StartsWith(plugin("wrong_abi").string() + ": built for plugin ABI version"));
}

TEST_CASE("a plugin folder that is a file is a usage error") {
  keel::Registry registry;
  try {
    keel::load_plugins(registry, {plugin("good")});
    FAIL("a file was accepted as a folder");
  } catch (const keel::Error& e) {
    CHECK(std::string(e.what()) == "plugin folder '" + plugin("good").string() + "' is a file, not a folder");
  }
}
