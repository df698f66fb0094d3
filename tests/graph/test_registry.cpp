#include "test_registry.hpp"

namespace keel::test {
namespace {

// Validation never runs an op; the factory only has to exist.
class InertOp : public Op {
 public:
  explicit InertOp(const Attrs&) {}
  Status infer(InferContext&) const override { return Status::Ok(); }
  Status forward(const ForwardContext&) override { return Status::Ok(); }
};

OpEntry entry(OpSchema schema) { return OpEntry{std::move(schema), make_op<InertOp>, nullptr}; }

OpSchema ports(const char* name, std::vector<std::string> in, std::vector<std::string> out) {
  OpSchema s;
  s.name = name;
  for (auto& p : in) s.inputs.push_back({p, ""});
  for (auto& p : out) s.outputs.push_back({p, ""});
  return s;
}

Registry build() {
  Registry r;
  OpSchema scale = ports("scale", {"x"}, {"y"});
  scale.attrs = {AttrSpec{.name = "factor", .type = AttrType::Float, .default_value = AttrValue{1.0}}};
  auto nn = std::make_shared<PluginInfo>();
  nn->name = "nn";
  nn->version = "1.0.0";
  nn->file = "/opt/keel/plugins/libkeel_nn.so";
  r.add_plugin(nn,
               {entry(ports("add", {"a", "b"}, {"y"})), entry(ports("mul", {"a", "b"}, {"y"})), entry(scale),
                entry(ports("relu", {"x"}, {"y"})), entry(ports("matmul", {"a", "b"}, {"y"}))});

  OpSchema fixture = ports("fixture", {"x"}, {"y"});
  fixture.attrs = {
      AttrSpec{.name = "count", .type = AttrType::Int, .min = 1, .max = 8},
      AttrSpec{.name = "mode",
               .type = AttrType::String,
               .default_value = AttrValue{std::string("fast")},
               .choices = {"fast", "exact"}},
      AttrSpec{
          .name = "ratio", .type = AttrType::Float, .default_value = AttrValue{0.5}, .min = 0.0, .max = 1.0},
      AttrSpec{.name = "enabled", .type = AttrType::Bool, .default_value = AttrValue{false}},
      AttrSpec{.name = "sizes",
               .type = AttrType::Ints,
               .default_value = AttrValue{std::vector<std::int64_t>{2, 3}},
               .min = 0},
      AttrSpec{
          .name = "weights", .type = AttrType::Floats, .default_value = AttrValue{std::vector<double>{}}},
      AttrSpec{.name = "label", .type = AttrType::String, .default_value = AttrValue{std::string()}},
  };
  auto fx = std::make_shared<PluginInfo>();
  fx->name = "fixtures";
  fx->version = "0.1.0";
  fx->file = "plugins/libkeel_fixtures.so";
  r.add_plugin(fx, {entry(fixture), entry(ports("split", {"x"}, {"first", "second"}))});
  r.searched = {"/opt/keel/plugins", "plugins"};
  return r;
}

}  // namespace

const Registry& graph_test_registry() {
  static const Registry registry = build();
  return registry;
}

ValidatedGraph validate_text(const std::string& yaml, const std::string& file) {
  return validate_graph(parse_graph_text(yaml, file), graph_test_registry());
}

}  // namespace keel::test
