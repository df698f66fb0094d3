#include "serve/wire_format.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <type_traits>

#include "base/error.hpp"
#include "base/json.hpp"
#include "runtime/json_read.hpp"
#include "runtime/npy.hpp"
#include "serve/fast_json_inputs.hpp"

namespace keel::serve {

namespace {

constexpr const char* kSource = "request body";

[[noreturn]] void bad(const std::string& message) { throw usage_error(message, {kSource}); }

// The shape of a nested array, from its first elements; raggedness is
// found while copying.
Shape shape_of(const JsonValue& v) {
  Shape shape;
  const JsonValue* at = &v;
  while (at->is_array()) {
    shape.push_back(static_cast<Dim>(at->items.size()));
    if (at->items.empty()) break;
    at = &at->items.front();
  }
  return shape;
}

template <class T>
T element(const JsonValue& v, const std::string& name, DType dtype) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool())
      bad("input '" + name + "' is bool: expected true or false, got " + JsonValue::kind_name(v.kind));
    return v.boolean;
  } else if constexpr (std::is_integral_v<T>) {
    const auto i = v.is_number() ? v.to_int64() : std::nullopt;
    if (!i || *i < std::numeric_limits<T>::min() || *i > std::numeric_limits<T>::max())
      bad("input '" + name + "' is " + std::string(dtype_name(dtype)) +
          ": expected integers in its range, got " +
          (v.is_number() ? v.text : std::string(JsonValue::kind_name(v.kind))));
    return static_cast<T>(*i);
  } else {
    if (!v.is_number())
      bad("input '" + name + "' is " + std::string(dtype_name(dtype)) + ": expected numbers, got " +
          JsonValue::kind_name(v.kind));
    return static_cast<T>(v.number);
  }
}

// Copies the leaves of `v` (whose shape must be `shape` from `depth` on)
// into `out` in row-major order.
template <class T>
void copy_leaves(const JsonValue& v, const Shape& shape, std::size_t depth, const std::string& name,
                 DType dtype, T*& out) {
  if (depth == shape.size()) {
    *out++ = element<T>(v, name, dtype);
    return;
  }
  if (!v.is_array() || static_cast<Dim>(v.items.size()) != shape[depth])
    bad("input '" + name + "' is not a rectangular array of shape " + shape_str(shape) + " (dimension " +
        std::to_string(depth) + " differs)");
  for (const JsonValue& item : v.items) copy_leaves(item, shape, depth + 1, name, dtype, out);
}

template <class T>
Tensor tensor_of(const JsonValue& v, DType dtype, const std::string& name) {
  const Shape shape = shape_of(v);
  Tensor t(dtype, shape);
  T* out = t.as<T>();
  copy_leaves<T>(v, shape, 0, name, dtype, out);
  return t;
}

Tensor tensor_from_json(const JsonValue& v, DType dtype, const std::string& name) {
  switch (dtype) {
    case DType::f32:
      return tensor_of<float>(v, dtype, name);
    case DType::f64:
      return tensor_of<double>(v, dtype, name);
    case DType::i32:
      return tensor_of<std::int32_t>(v, dtype, name);
    case DType::i64:
      return tensor_of<std::int64_t>(v, dtype, name);
    case DType::u8:
      return tensor_of<std::uint8_t>(v, dtype, name);
    case DType::boolean:
      return tensor_of<bool>(v, dtype, name);
  }
  bad("input '" + name + "' has a dtype JSON cannot carry");
}

std::string input_names(const ValidatedGraph& graph) {
  std::string out;
  for (const auto& in : graph.def.inputs) out += (out.empty() ? "" : ", ") + in.name;
  return out;
}

template <class T>
void append_number(std::string& out, T v) {
  char buf[32];
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(v)) {
      out += "null";  // JSON has no NaN; outputs are masked with finite fills
      return;
    }
  }
  if constexpr (std::is_same_v<T, bool>) {
    out += v ? "true" : "false";
  } else {
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

template <class T>
void append_array(std::string& out, const T* data, const Shape& shape, std::size_t depth, std::size_t& at) {
  if (depth == shape.size()) {
    append_number(out, data[at++]);
    return;
  }
  out += '[';
  for (Dim i = 0; i < shape[depth]; ++i) {
    if (i) out += ',';
    append_array(out, data, shape, depth + 1, at);
  }
  out += ']';
}

void append_tensor(std::string& out, const Tensor& t) {
  std::size_t at = 0;
  switch (t.dtype()) {
    case DType::f32:
      return append_array(out, t.as<float>(), t.shape(), 0, at);
    case DType::f64:
      return append_array(out, t.as<double>(), t.shape(), 0, at);
    case DType::i32:
      return append_array(out, t.as<std::int32_t>(), t.shape(), 0, at);
    case DType::i64:
      return append_array(out, t.as<std::int64_t>(), t.shape(), 0, at);
    case DType::u8:
      return append_array(out, t.as<std::uint8_t>(), t.shape(), 0, at);
    case DType::boolean:
      return append_array(out, t.as<bool>(), t.shape(), 0, at);
  }
}

}  // namespace

std::vector<Tensor> inputs_from_json(std::string_view body, const ValidatedGraph& graph) {
  if (auto fast = fast_json_inputs(body, graph)) return std::move(*fast);
  JsonLimits limits;
  limits.max_bytes = body.size();
  const JsonValue doc = parse_json(body, kSource, limits);
  if (!doc.is_object()) bad("expected a JSON object {\"inputs\": {...}}");
  const JsonValue* inputs = nullptr;
  for (const JsonMember& m : doc.members) {
    if (m.first != "inputs") bad("unexpected key '" + printable(m.first) + "' (expected only \"inputs\")");
    if (inputs) bad("\"inputs\" is given twice");
    inputs = &m.second;
  }
  if (!inputs || !inputs->is_object()) bad("expected {\"inputs\": {NAME: array, ...}}");
  std::map<std::string, const JsonValue*> given;
  for (const JsonMember& m : inputs->members) {
    const auto& decls = graph.def.inputs;
    if (std::none_of(decls.begin(), decls.end(), [&](const InputDef& d) { return d.name == m.first; }))
      bad("unknown input '" + printable(m.first) + "' (inputs: " + input_names(graph) + ")");
    if (!given.emplace(m.first, &m.second).second) bad("input '" + printable(m.first) + "' is given twice");
  }
  std::vector<Tensor> out;
  for (std::size_t i = 0; i < graph.def.inputs.size(); ++i) {
    const std::string& name = graph.def.inputs[i].name;
    auto it = given.find(name);
    if (it == given.end()) bad("missing input '" + name + "' (inputs: " + input_names(graph) + ")");
    out.push_back(tensor_from_json(*it->second, graph.input_specs[i].dtype, name));
  }
  return out;
}

std::vector<Tensor> inputs_from_npy(std::string_view body, const ValidatedGraph& graph) {
  if (graph.def.inputs.size() != 1)
    bad("a .npy body carries one input, and this model has " + std::to_string(graph.def.inputs.size()) +
        " (" + input_names(graph) + "): send JSON");
  std::vector<Tensor> out;
  out.push_back(decode_npy(body, kSource));
  return out;
}

std::string guards_json(const std::vector<GuardFlag>& flags) {
  std::string out = "[";
  for (std::size_t i = 0; i < flags.size(); ++i) {
    const GuardFlag& f = flags[i];
    if (i) out += ',';
    out += "{\"guard\":" + json_quote(f.guard) + ",\"check\":" + json_quote(f.check) +
           ",\"action\":" + json_quote(f.action) + ",\"score\":" + json_number(f.score) +
           ",\"threshold\":" + json_number(f.threshold) + ",\"rows\":[";
    for (std::size_t r = 0; r < f.rows.size(); ++r) out += (r ? "," : "") + std::to_string(f.rows[r]);
    out += "]}";
  }
  return out + "]";
}

std::string result_json(const std::string& model, const ValidatedGraph& graph, const JobResult& result) {
  std::string out = "{\"model\":" + json_quote(model) + ",\"outputs\":{";
  for (std::size_t i = 0; i < result.outputs.size(); ++i) {
    if (i) out += ',';
    out += json_quote(graph.def.outputs[i].text()) + ":";
    append_tensor(out, result.outputs[i]);
  }
  out += "},\"guards\":" + guards_json(result.flags) + "}";
  return out;
}

std::string error_json(const std::string& message) { return "{\"error\":" + json_quote(message) + "}"; }

}  // namespace keel::serve
