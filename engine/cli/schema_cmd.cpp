// keel schema: a JSON Schema (draft 2020-12) for graph files, built from
// the graph format (docs/graph-format.md) and every registered op's schema,
// so a YAML editor can validate and complete graph files. Each node is
// checked by an if/then on its `op`: the op's attributes (types, defaults,
// ranges, choices, docs), its required attributes and its number of inputs.
// What needs the whole graph (references resolve, shapes infer) stays with
// `keel validate`.
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/json.hpp"
#include "cli/commands.hpp"
#include "cli/session.hpp"
#include "graph/format_keys.hpp"
#include "graph/parse.hpp"
#include "keel/dtype.hpp"
#include "keel/version.hpp"

namespace keel::cli {

namespace {

constexpr const char* kIdentifier = "^[A-Za-z_][A-Za-z0-9_]*$";
constexpr const char* kReference = "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$";
// A node's `init:` value, as graph/parse.cpp reads it (numbers: any decimal
// form; spaces before the parenthesis are allowed): a name that may stand
// alone, or a name with its numbers.
std::string initializer_pattern() {
  std::string alone, with_args;
  for (const format::Initializer& i : format::initializers()) {
    const std::string name(i.name);
    if (!i.needs_args) alone += (alone.empty() ? "" : "|") + name;
    if (i.count == 0) continue;
    std::string numbers = "[^,()]+";
    for (std::size_t n = 1; n < i.count; ++n) numbers += ",[^,()]+";
    with_args += "|^" + name + " *\\(" + numbers + "\\)$";
  }
  return "^(" + alone + ")$" + with_args;
}

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
Obj one_of_names(const std::vector<std::string>& names) {
  return names.empty() ? Obj().str("type", "string") : Obj().raw("enum", strings(names));
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

// Schemas of values a table (graph/format_keys.hpp) marks custom, or
// replaces, by the key's place: "train.data.holdout".
using Custom = std::map<std::string, Obj, std::less<>>;

std::string place(const format::Mapping& m, const format::Key& k) {
  return (m.path.empty() ? "" : std::string(m.path) + ".") + std::string(k.name);
}

std::string integer(double min) { return Obj().str("type", "integer").num("minimum", min).json(); }

Obj mapping_schema(const format::Mapping& m, const Custom& custom, Obj o = Obj());

// The schema of one key's value, as its table describes it.
Obj value_schema(const format::Mapping& m, const format::Key& k, const Custom& custom) {
  if (auto it = custom.find(place(m, k)); it != custom.end()) return it->second;
  using format::Value;
  Obj o;
  switch (k.value) {
    case Value::integer:
      return o.str("type", "integer").num("minimum", k.min);
    case Value::number:
      o.str("type", "number").num("minimum", k.min);
      if (std::isfinite(k.below)) o.num("exclusiveMaximum", k.below);
      return o;
    case Value::boolean:
      return o.str("type", "boolean");
    case Value::string:
      o.str("type", "string");
      if (k.min > 0) o.num("minLength", k.min);
      return o;
    case Value::choice: {
      std::vector<std::string> choices(k.choices.begin(), k.choices.end());
      return o.raw("enum", strings(choices));
    }
    case Value::reference:
      return o.str("$ref", "#/$defs/reference");
    case Value::identifier:
      return o.str("$ref", "#/$defs/identifier");
    case Value::names:
      return o.raw(
          "anyOf",
          array({Obj().str("type", "string").json(),
                 Obj().str("type", "array").raw("items", Obj().str("type", "string").json()).json()}));
    case Value::file_map:
      return o.str("type", "object").raw("additionalProperties", Obj().str("type", "string").json());
    case Value::mapping:
      return mapping_schema(*k.table, custom);
    case Value::custom:
      break;
  }
  // A table names a key that no schema below writes: a bug, caught by the
  // schema tests.
  throw std::logic_error("keel schema: nothing describes '" + place(m, k) + "'");
}

// A mapping: its keys' schemas, the required ones, and no other key unless
// the table is open.
Obj mapping_schema(const format::Mapping& m, const Custom& custom, Obj o) {
  Obj props;
  std::vector<std::string> required;
  for (const format::Key& k : m.keys) {
    props.raw(std::string(k.name), value_schema(m, k, custom).str("description", std::string(k.doc)).json());
    if (k.required) required.emplace_back(k.name);
  }
  o.str("type", "object");
  if (!required.empty()) o.raw("required", strings(required));
  o.raw("properties", props.json());
  if (!m.open) o.raw("additionalProperties", "false");
  if (m.exactly_one) o.num("minProperties", 1).num("maxProperties", 1);
  return o;
}

Obj node_schema(const Registry& registry) {
  std::vector<std::string> by_op;
  for (const auto& name : registry.op_names())
    by_op.push_back(if_op("op", name, node_for_op(*registry.find(name))));
  const Custom custom = {
      {"nodes[].op", one_of_names(registry.op_names())},
      {"nodes[].inputs", Obj().raw("type", strings({"array", "null"})).raw("items", ref("reference"))},
      {"nodes[].attrs", Obj().raw("type", strings({"object", "null"}))},
      {"nodes[].init",
       Obj().raw("type", strings({"object", "null"})).raw("additionalProperties", ref("initializer"))},
  };
  return mapping_schema(format::node_keys(), custom).raw("allOf", array(by_op));
}

Obj optimizer_schema(const Registry& registry) {
  std::vector<std::string> names, by_op;
  std::string default_then;
  for (const auto& name : registry.op_names()) {
    const OpEntry& e = *registry.find(name);
    if (e.schema.role != Role::optimizer) continue;
    names.push_back(name);
    // The section's own keys, then the op's attributes; nothing else.
    Obj props;
    for (const format::Key& k : format::optimizer_keys().keys) props.raw(std::string(k.name), "true");
    std::vector<std::string> required;
    attr_properties(e.schema, props, required);
    Obj then = Obj().raw("properties", props.json()).raw("additionalProperties", "false");
    if (!required.empty()) then.raw("required", strings(required));
    by_op.push_back(if_op("op", name, then.json()));
    if (name == "sgd") default_then = then.json();
  }
  // Without `op:` the optimizer is sgd: its attributes apply.
  if (!default_then.empty())
    by_op.push_back(Obj()
                        .raw("if", Obj().raw("not", Obj().raw("required", strings({"op"})).json()).json())
                        .raw("then", default_then)
                        .json());
  const Custom custom = {{"train.optimizer.op", one_of_names(names)}};
  return mapping_schema(format::optimizer_keys(), custom).raw("allOf", array(by_op));
}

Obj train_schema(const Registry& registry) {
  const format::Key& holdout = *format::data_keys().find("holdout");
  Obj fraction =
      Obj().str("type", "number").num("minimum", holdout.min).num("exclusiveMaximum", holdout.below);
  Obj columns =
      Obj()
          .str("type", "object")
          .raw("additionalProperties",
               Obj()
                   .raw("anyOf",
                        array({integer(0), Obj()
                                               .str("type", "string")
                                               .num("minLength", 1)
                                               .str("description",
                                                    "\"first:end\" (numbers, end excluded), or header "
                                                    "names \"first:last\" (both included) or one name")
                                               .json()}))
                   .json());
  Obj phase =
      mapping_schema(format::phase_keys(), {{"train.phases[].optimizer", optimizer_schema(registry)}});
  const Custom custom = {
      {"train.phases", Obj().str("type", "array").num("minItems", 1).raw("items", phase.json())},
      {"train.optimizer", optimizer_schema(registry)},
      {"train.data.columns", columns},
      {"train.data.holdout",
       Obj().raw("anyOf", array({fraction.json(), mapping_schema(format::source_keys(), {}).json()}))},
      {"train.checkpoint.every",
       Obj().raw("anyOf", array({integer(format::checkpoint_keys().find("every")->min),
                                 Obj().str("const", "epoch").json()}))},
  };
  // One objective (loss:, optionally optimizer:) or several (phases:).
  const std::string single = Obj().raw("required", strings({"loss"})).json();
  const std::string several =
      Obj()
          .raw("required", strings({"phases"}))
          .raw("not", Obj()
                          .raw("anyOf", array({Obj().raw("required", strings({"loss"})).json(),
                                               Obj().raw("required", strings({"optimizer"})).json()}))
                          .json())
          .json();
  return mapping_schema(format::train_keys(), custom).raw("oneOf", array({single, several}));
}

// One entry of images: (its key is an output's name; keel validate checks that).
Obj image_schema() {
  const Obj number = Obj().str("type", "number");
  const Custom custom = {
      {"images.NAME.range",
       Obj().str("type", "array").num("minItems", 2).num("maxItems", 2).raw("items", number.json())},
  };
  // Empty (`samples:`) takes every default.
  return Obj().raw("anyOf", array({Obj().str("type", "null").json(),
                                   mapping_schema(format::image_keys(), custom).json()}));
}

std::string graph_schema(const Registry& registry) {
  const Custom input_custom = {
      {"inputs.NAME.shape",
       Obj()
           .str("type", "array")
           .raw("items", Obj().raw("anyOf", array({integer(0), ref("identifier")})).json())},
  };
  Obj defs = Obj()
                 .raw("identifier", Obj().str("type", "string").str("pattern", kIdentifier).json())
                 .raw("reference", Obj().str("type", "string").str("pattern", kReference).json())
                 .raw("initializer", Obj()
                                         .str("type", "string")
                                         .str("pattern", initializer_pattern())
                                         .str("description", format::initializer_list())
                                         .json())
                 .raw("input", mapping_schema(format::input_keys(), input_custom).json())
                 .raw("node", node_schema(registry).json())
                 .raw("train", train_schema(registry).json());
  const Custom top_custom = {
      {"keel", Obj().num("const", kGraphFormatVersion)},
      {"inputs", Obj()
                     .raw("type", strings({"object", "null"}))
                     .raw("propertyNames", ref("identifier"))
                     .raw("additionalProperties", ref("input"))},
      {"nodes", Obj().str("type", "array").num("minItems", 1).raw("items", ref("node"))},
      {"outputs", Obj().str("type", "array").num("minItems", 1).raw("items", ref("reference"))},
      {"train", Obj().str("$ref", "#/$defs/train")},
      {"images",
       Obj().raw("type", strings({"object", "null"})).raw("additionalProperties", image_schema().json())},
  };
  Obj head = Obj()
                 .str("$schema", "https://json-schema.org/draft/2020-12/schema")
                 .str("$id", "urn:keel:graph-format:1:sdk:" KEEL_SDK_VERSION_STRING)
                 .str("title", "Keel graph file, format 1")
                 .str("description",
                      "Generated by `keel schema` from the plugins it found; see docs/graph-format.md");
  return mapping_schema(format::top_keys(), top_custom, head).raw("$defs", defs.json()).json();
}

}  // namespace

int schema(const Common& common) {
  Registry registry = load_registry(common);
  std::printf("%s\n", graph_schema(registry).c_str());
  return 0;
}

}  // namespace keel::cli
