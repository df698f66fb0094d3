// keel schema: a JSON Schema (draft 2020-12) for graph files, built from
// the graph format (docs/graph-format.md) and every registered op's schema,
// so a YAML editor can validate and complete graph files. Each node is
// checked by an if/then on its `op`: the op's attributes (types, defaults,
// ranges, choices, docs), its required attributes and its number of inputs.
// What needs the whole graph (references resolve, shapes infer) stays with
// `keel validate`.
#include <cstdio>
#include <string>
#include <vector>

#include "base/json.hpp"
#include "cli/commands.hpp"
#include "cli/session.hpp"
#include "keel/dtype.hpp"
#include "keel/version.hpp"

namespace keel::cli {

namespace {

constexpr const char* kIdentifier = "^[A-Za-z_][A-Za-z0-9_]*$";
constexpr const char* kReference = "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$";
// A node's `init:` value, as graph/parse.cpp reads it (numbers: any decimal form).
constexpr const char* kInitializer =
    "^(zeros|ones|xavier|xavier_normal|kaiming|kaiming_normal|normal|uniform)$|"
    "^constant\\([^,()]+\\)$|^normal\\([^,()]+\\)$|^uniform\\([^,()]+,[^,()]+\\)$";

// A JSON object built member by member.
class Obj {
 public:
  Obj& raw(const std::string& key, const std::string& json) {
    body_ += (body_.empty() ? "" : ",") + json_quote(key) + ":" + json;
    return *this;
  }
  Obj& str(const std::string& key, const std::string& value) { return raw(key, json_quote(value)); }
  Obj& num(const std::string& key, double value) { return raw(key, json_number(value)); }
  std::string json() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

std::string array(const std::vector<std::string>& items_json) {
  std::string out;
  for (const auto& i : items_json) out += (out.empty() ? "" : ",") + i;
  return "[" + out + "]";
}

std::string strings(const std::vector<std::string>& items) {
  std::vector<std::string> q;
  for (const auto& i : items) q.push_back(json_quote(i));
  return array(q);
}

// An enum of names, or any string when there are none to list.
std::string one_of_names(const std::vector<std::string>& names) {
  return names.empty() ? Obj().str("type", "string").json() : Obj().raw("enum", strings(names)).json();
}

std::string ref(const std::string& def) { return Obj().str("$ref", "#/$defs/" + def).json(); }

struct ValueJson {
  std::string operator()(std::int64_t i) const { return std::to_string(i); }
  std::string operator()(double d) const { return json_number(d); }
  std::string operator()(bool b) const { return b ? "true" : "false"; }
  std::string operator()(const std::string& s) const { return json_quote(s); }
  template <class T>
  std::string operator()(const std::vector<T>& v) const {
    std::vector<std::string> items;
    for (const auto& x : v) items.push_back((*this)(x));
    return array(items);
  }
};

// The schema of one scalar element of an attribute.
Obj element(const AttrSpec& a) {
  Obj o;
  switch (a.type) {
    case AttrType::Int:
    case AttrType::Ints:
      o.str("type", "integer");
      break;
    case AttrType::Float:
    case AttrType::Floats:
      o.str("type", "number");
      break;
    case AttrType::Bool:
      o.str("type", "boolean");
      break;
    case AttrType::String:
      o.str("type", "string");
      break;
  }
  if (a.min) o.num("minimum", *a.min);
  if (a.max) o.num("maximum", *a.max);
  if (!a.choices.empty()) o.raw("enum", strings(a.choices));
  return o;
}

std::string attr_description(const AttrSpec& a) {
  std::string d = a.doc + " (" + attr_type_name(a.type);
  if (a.default_value)
    d += ", default " + std::visit(ValueJson{}, *a.default_value);
  else
    d += ", required";
  if (a.min || a.max)
    d += ", range " + (a.min ? "[" + json_number(*a.min) : std::string("(-inf")) + ", " +
         (a.max ? json_number(*a.max) + "]" : std::string("inf)"));
  return d + ")";
}

std::string attr_schema(const AttrSpec& a) {
  const bool list = a.type == AttrType::Ints || a.type == AttrType::Floats;
  Obj o = list ? Obj().str("type", "array").raw("items", element(a).json()) : element(a);
  o.str("description", attr_description(a));
  if (a.default_value) o.raw("default", std::visit(ValueJson{}, *a.default_value));
  return o.json();
}

// The attributes mapping of an op (also used for the optimizer section,
// whose extra keys are the optimizer op's attributes).
void attr_properties(const OpSchema& s, Obj& properties, std::vector<std::string>& required) {
  for (const AttrSpec& a : s.attrs) {
    properties.raw(a.name, attr_schema(a));
    if (!a.default_value) required.push_back(a.name);
  }
}

std::string op_description(const OpEntry& e) {
  const OpSchema& s = e.schema;
  std::string d = s.doc + " [plugin " + e.plugin->name + "; inputs:";
  for (const auto& p : s.inputs) d += " " + p.name;
  if (s.inputs.empty()) d += " none";
  return d + "]";
}

// then-part of a node whose op is `e`.
std::string node_for_op(const OpEntry& e) {
  const OpSchema& s = e.schema;
  Obj props;
  std::vector<std::string> required;
  attr_properties(s, props, required);
  // Object keywords do not apply to null, so `attrs:` left empty is fine
  // unless an attribute is required.
  Obj attrs;
  attrs.raw("type", required.empty() ? strings({"object", "null"}) : json_quote("object"))
      .raw("properties", props.json())
      .raw("additionalProperties", "false");
  if (!required.empty()) attrs.raw("required", strings(required));
  const auto n = static_cast<double>(s.inputs.size());
  Obj inputs = Obj().num("minItems", n).num("maxItems", n);
  std::vector<std::string> params;
  for (const ParamSpec& p : s.params) params.push_back(p.name);
  Obj init = Obj()
                 .raw("type", strings({"object", "null"}))
                 .raw("propertyNames", Obj().raw("enum", strings(params)).json())
                 .raw("additionalProperties", ref("initializer"));
  Obj node_props = Obj()
                       .raw("op", Obj().str("description", op_description(e)).json())
                       .raw("inputs", inputs.json())
                       .raw("attrs", attrs.json())
                       .raw("init", init.json());
  Obj then = Obj().raw("properties", node_props.json());
  std::vector<std::string> node_required;
  if (!s.inputs.empty()) node_required.push_back("inputs");
  if (!required.empty()) node_required.push_back("attrs");
  if (!node_required.empty()) then.raw("required", strings(node_required));
  return then.json();
}

std::string if_op(const std::string& key, const std::string& op, const std::string& then) {
  Obj cond = Obj()
                 .raw("properties", Obj().raw(key, Obj().str("const", op).json()).json())
                 .raw("required", strings({key}));
  return Obj().raw("if", cond.json()).raw("then", then).json();
}

std::string node_schema(const Registry& registry) {
  std::vector<std::string> by_op;
  for (const auto& name : registry.op_names())
    by_op.push_back(if_op("op", name, node_for_op(*registry.find(name))));
  Obj props =
      Obj()
          .raw("name", Obj()
                           .str("$ref", "#/$defs/identifier")
                           .str("description", "the node's name, unique among nodes and inputs")
                           .json())
          .raw("op", one_of_names(registry.op_names()))
          .raw("inputs", Obj()
                             .raw("type", strings({"array", "null"}))
                             .raw("items", ref("reference"))
                             .str("description", "one value reference per input port of the op, in order")
                             .json())
          .raw("attrs", Obj()
                            .raw("type", strings({"object", "null"}))
                            .str("description", "the op's attributes (keel plugins OP)")
                            .json())
          .raw("init", Obj()
                           .raw("type", strings({"object", "null"}))
                           .raw("additionalProperties", ref("initializer"))
                           .str("description", "parameter name -> initializer, instead of the op's default")
                           .json());
  return Obj()
      .str("type", "object")
      .raw("required", strings({"name", "op"}))
      .raw("properties", props.json())
      .raw("additionalProperties", "false")
      .raw("allOf", array(by_op))
      .json();
}

// The engine's rule (training/optimizer_step.cpp): an optimizer op takes
// (param, grad, hyper) and gives one output.
bool is_optimizer(const OpSchema& s) {
  return s.inputs.size() == 3 && s.inputs[0].name == "param" && s.inputs[1].name == "grad" &&
         s.inputs[2].name == "hyper" && s.outputs.size() == 1;
}

std::string number(double min) { return Obj().str("type", "number").num("minimum", min).json(); }
std::string integer(double min) { return Obj().str("type", "integer").num("minimum", min).json(); }

std::string optimizer_schema(const Registry& registry) {
  std::vector<std::string> names, by_op;
  std::string default_then;
  for (const auto& name : registry.op_names()) {
    const OpEntry& e = *registry.find(name);
    if (!is_optimizer(e.schema)) continue;
    names.push_back(name);
    Obj props =
        Obj().raw("op", "true").raw("lr", "true").raw("clip_grad_norm", "true").raw("schedule", "true");
    std::vector<std::string> required;
    attr_properties(e.schema, props, required);
    Obj then = Obj().raw("properties", props.json()).raw("additionalProperties", "false");
    if (!required.empty()) then.raw("required", strings(required));
    by_op.push_back(if_op("op", name, then.json()));
    if (name == "sgd") default_then = then.json();
  }
  Obj schedule = Obj()
                     .str("type", "object")
                     .raw("additionalProperties", "false")
                     .raw("properties",
                          Obj()
                              .raw("kind", Obj().raw("enum", strings({"constant", "step", "cosine"})).json())
                              .raw("warmup", integer(0))
                              .raw("every", integer(1))
                              .raw("gamma", number(0))
                              .raw("min_lr", number(0))
                              .json());
  Obj props = Obj()
                  .raw("op", one_of_names(names))
                  .raw("lr", number(0))
                  .raw("clip_grad_norm", number(0))
                  .raw("schedule", schedule.json());
  // Without `op:` the optimizer is sgd: its attributes apply.
  if (!default_then.empty())
    by_op.push_back(Obj()
                        .raw("if", Obj().raw("not", Obj().raw("required", strings({"op"})).json()).json())
                        .raw("then", default_then)
                        .json());
  return Obj().str("type", "object").raw("properties", props.json()).raw("allOf", array(by_op)).json();
}

std::string train_schema(const Registry& registry) {
  const std::string csv_files =
      Obj()
          .raw("anyOf",
               array({Obj().str("type", "string").json(),
                      Obj().str("type", "array").raw("items", Obj().str("type", "string").json()).json()}))
          .json();
  const std::string npy_files =
      Obj().str("type", "object").raw("additionalProperties", Obj().str("type", "string").json()).json();
  const std::string holdout_source =
      Obj()
          .str("type", "object")
          .raw("properties", Obj().raw("csv", csv_files).raw("npy", npy_files).json())
          .raw("additionalProperties", "false")
          .num("minProperties", 1)
          .num("maxProperties", 1)
          .json();
  Obj data_props =
      Obj()
          .raw("csv", csv_files)
          .raw("npy", npy_files)
          .raw("columns",
               Obj()
                   .str("type", "object")
                   .raw("additionalProperties",
                        Obj()
                            .raw("anyOf", array({integer(0),
                                                 Obj()
                                                     .str("type", "string")
                                                     .num("minLength", 1)
                                                     .str("description",
                                                          "\"first:end\" (numbers, end excluded), or header "
                                                          "names \"first:last\" (both included) or one name")
                                                     .json()}))
                            .json())
                   .json())
          .raw(
              "header", Obj()
                            .str("type", "boolean")
                            .str("description", "the first CSV line names the columns; default: detected")
                            .json())
          .raw("batch", integer(1))
          .raw("shuffle", Obj().str("type", "boolean").json())
          .raw(
              "drop_last", Obj()
                               .str("type", "boolean")
                               .str("description",
                                    "drop a last partial batch; default: only a last batch of one row, "
                                    "when the graph has a batchnorm")
                               .json())
          .raw(
              "holdout",
              Obj()
                  .raw("anyOf",
                       array({Obj().str("type", "number").num("minimum", 0).num("exclusiveMaximum", 1).json(),
                              holdout_source}))
                  .json());
  Obj data =
      Obj().str("type", "object").raw("properties", data_props.json()).raw("additionalProperties", "false");
  Obj checkpoint =
      Obj()
          .str("type", "object")
          .raw("required", strings({"path"}))
          .raw("additionalProperties", "false")
          .raw("properties",
               Obj()
                   .raw("path", Obj().str("type", "string").json())
                   .raw("encrypt", Obj().str("type", "object").json())
                   .raw("every",
                        Obj().raw("anyOf", array({integer(1), Obj().str("const", "epoch").json()})).json())
                   .json());
  Obj names = Obj().raw(
      "anyOf", array({Obj().str("type", "string").json(),
                      Obj().str("type", "array").raw("items", Obj().str("type", "string").json()).json()}));
  Obj props = Obj()
                  .raw("loss", Obj()
                                   .raw("$ref", json_quote("#/$defs/reference"))
                                   .str("description", "the node whose output is minimized")
                                   .json())
                  .raw("data", data.json())
                  .raw("epochs", integer(1))
                  .raw("steps", integer(1))
                  .raw("optimizer", optimizer_schema(registry))
                  .raw("checkpoint", checkpoint.json())
                  .raw("freeze", names.json())
                  .raw("calibrate", names.json())
                  .raw("metrics", Obj().str("type", "string").json())
                  .raw("report", Obj().str("type", "boolean").json());
  return Obj()
      .str("type", "object")
      .raw("required", strings({"loss", "data"}))
      .raw("properties", props.json())
      .raw("additionalProperties", "false")
      .json();
}

std::string graph_schema(const Registry& registry) {
  std::vector<std::string> dtypes;
  for (DType t : {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::boolean})
    dtypes.emplace_back(dtype_name(t));
  Obj input =
      Obj()
          .str("type", "object")
          .raw("required", strings({"dtype", "shape"}))
          .raw("additionalProperties", "false")
          .raw("properties",
               Obj()
                   .raw("dtype", Obj().raw("enum", strings(dtypes)).json())
                   .raw("shape",
                        Obj()
                            .str("type", "array")
                            .raw("items", Obj().raw("anyOf", array({integer(0), ref("identifier")})).json())
                            .str("description", "sizes, or names such as batch that bind when data arrives")
                            .json())
                   .json());
  Obj defs = Obj()
                 .raw("identifier", Obj().str("type", "string").str("pattern", kIdentifier).json())
                 .raw("reference", Obj().str("type", "string").str("pattern", kReference).json())
                 .raw("initializer", Obj()
                                         .str("type", "string")
                                         .str("pattern", kInitializer)
                                         .str("description",
                                              "zeros, ones, constant(v), normal(std), uniform(a, b), xavier, "
                                              "xavier_normal, kaiming, kaiming_normal")
                                         .json())
                 .raw("input", input.json())
                 .raw("node", node_schema(registry))
                 .raw("train", train_schema(registry));
  Obj props =
      Obj()
          .raw("keel", Obj().num("const", 1).str("description", "graph format version").json())
          .raw("name", Obj().str("type", "string").json())
          .raw("seed", Obj()
                           .str("type", "integer")
                           .num("minimum", 0)
                           .str("description", "every random choice derives from it")
                           .json())
          .raw("inputs", Obj()
                             .raw("type", strings({"object", "null"}))
                             .raw("propertyNames", ref("identifier"))
                             .raw("additionalProperties", ref("input"))
                             .json())
          .raw("nodes", Obj().str("type", "array").num("minItems", 1).raw("items", ref("node")).json())
          .raw("outputs", Obj().str("type", "array").num("minItems", 1).raw("items", ref("reference")).json())
          .raw("train", ref("train"));
  return Obj()
      .str("$schema", "https://json-schema.org/draft/2020-12/schema")
      .str("$id", "urn:keel:graph-format:1:sdk:" KEEL_SDK_VERSION_STRING)
      .str("title", "Keel graph file, format 1")
      .str("description", "Generated by `keel schema` from the plugins it found; see docs/graph-format.md")
      .str("type", "object")
      .raw("required", strings({"keel", "nodes", "outputs"}))
      .raw("properties", props.json())
      .raw("additionalProperties", "false")
      .raw("$defs", defs.json())
      .json();
}

}  // namespace

int schema(const Common& common) {
  Registry registry = load_registry(common);
  std::printf("%s\n", graph_schema(registry).c_str());
  return 0;
}

}  // namespace keel::cli
