// The static contract of an operator: what `keel plugins` prints, what the
// graph validator checks attributes against, and what the planner uses to
// allocate and initialize the parameters the op owns. An op's schema is all
// a pipeline author needs to read to use it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace keel {

enum class AttrType : std::uint8_t { Int, Float, Bool, String, Ints, Floats };

inline const char* attr_type_name(AttrType t) {
  switch (t) {
    case AttrType::Int:
      return "int";
    case AttrType::Float:
      return "float";
    case AttrType::Bool:
      return "bool";
    case AttrType::String:
      return "string";
    case AttrType::Ints:
      return "ints";
    case AttrType::Floats:
      return "floats";
  }
  return "?";
}

// Alternatives are in AttrType order, so value.index() == int(type).
using AttrValue =
    std::variant<std::int64_t, double, bool, std::string, std::vector<std::int64_t>, std::vector<double>>;

struct AttrSpec {
  std::string name;
  AttrType type = AttrType::Int;
  std::string doc;
  std::optional<AttrValue> default_value;  // absent: the attribute is required
  std::optional<double> min;               // inclusive bounds for Int/Float (each element of lists)
  std::optional<double> max;
  std::vector<std::string> choices;  // allowed values of a String attribute; empty: any
};

struct PortSpec {
  std::string name;
  std::string doc;
  // False for inputs no gradient flows into (integer labels, masks).
  bool differentiable = true;
};

// How a parameter's initial values are drawn. Fan-in and fan-out follow
// PyTorch: for a shape [out, in, k...], fan_in = in*prod(k), fan_out = out*prod(k).
enum class Init : std::uint8_t { Zeros, Ones, HeNormal, HeUniform, XavierNormal, XavierUniform };

inline const char* init_name(Init i) {
  switch (i) {
    case Init::Zeros:
      return "zeros";
    case Init::Ones:
      return "ones";
    case Init::HeNormal:
      return "he_normal";
    case Init::HeUniform:
      return "he_uniform";
    case Init::XavierNormal:
      return "xavier_normal";
    case Init::XavierUniform:
      return "xavier_uniform";
  }
  return "?";
}

// A tensor the op owns, stored as `<node>.<name>` (fc1.weight). Its shape is
// given by the op's infer(); its dtype is f32.
struct ParamSpec {
  std::string name;
  std::string doc;
  Init init = Init::Zeros;
  // False for state that is updated by forward, not by an optimizer
  // (batch-norm running statistics).
  bool trainable = true;
};

struct OpSchema {
  std::string name;
  std::string doc;  // one line
  std::vector<PortSpec> inputs;
  std::vector<PortSpec> outputs;
  std::vector<AttrSpec> attrs;
  std::vector<ParamSpec> params;
  bool has_backward = false;
  // A guard watches values and tells the engine when something is wrong;
  // the engine acts on it (skip the step, roll back, abort, report). A
  // guard op declares the string attributes `check` and `action` and the
  // outputs flag, score, limit (f32 scalars) and mask (f32 [rows]), in that
  // order; the engine reads them after every run (docs/sdk.md, "Guards").
  bool guard = false;
};

// Attribute values of one node, complete (defaults filled in) and already
// checked against the schema by the engine, so the getters only fail on a
// programming error in the op (asking for a name or type it did not declare).
class Attrs {
 public:
  Attrs() = default;
  explicit Attrs(std::map<std::string, AttrValue> values) : values_(std::move(values)) {}

  std::int64_t i(const std::string& n) const { return get<std::int64_t>(n); }
  double f(const std::string& n) const { return get<double>(n); }
  bool b(const std::string& n) const { return get<bool>(n); }
  const std::string& s(const std::string& n) const { return get<std::string>(n); }
  const std::vector<std::int64_t>& ints(const std::string& n) const {
    return get<std::vector<std::int64_t>>(n);
  }
  const std::vector<double>& floats(const std::string& n) const { return get<std::vector<double>>(n); }

  bool has(const std::string& n) const { return values_.count(n) != 0; }
  const std::map<std::string, AttrValue>& values() const { return values_; }

 private:
  template <class T>
  const T& get(const std::string& n) const {
    auto it = values_.find(n);
    if (it == values_.end()) throw std::logic_error("attribute '" + n + "' is not declared");
    if (auto* v = std::get_if<T>(&it->second)) return *v;
    throw std::logic_error("attribute '" + n + "' read with the wrong type");
  }
  std::map<std::string, AttrValue> values_;
};

}  // namespace keel
