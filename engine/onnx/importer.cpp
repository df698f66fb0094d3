// The import driver: graph inputs, the node walk, the graph file's text.
#include "onnx/importer.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "base/error.hpp"
#include "base/json.hpp"

namespace keel::onnx {

std::string identifier_from(const std::string& onnx_name) {
  std::string out;
  for (char c : onnx_name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    if (ok)
      out += c;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "v" + out;
  // Names are bounded: a hostile model's 1 MB name stays a short identifier.
  if (out.size() > 64) out.resize(64);
  return out;
}

std::string yaml_ints(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string yaml_float(double v) { return json_number(v); }

const Value& Importer::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end())
    throw NotMapped{"its input '" + printable(name) + "' comes from a node not imported"};
  return it->second;
}

const Tensor* Importer::constant(const Node& n, std::size_t i) const {
  if (!has_input(n, i)) return nullptr;
  const Value& v = value(n.inputs[i]);
  return v.constant ? &*v.constant : nullptr;
}

std::string Importer::ref(const Node& n, std::size_t i) {
  if (!has_input(n, i)) throw NotMapped{"input " + std::to_string(i) + " is required"};
  return ref_of(n.inputs[i]);
}

std::string Importer::ref_of(const std::string& onnx_name) {
  const Value& v = value(onnx_name);
  if (!v.ref.empty()) return v.ref;
  // A constant used as data: a `constant` node whose non-trained parameter
  // `value` holds it.
  if (v.constant->dtype() != DType::f32)
    throw NotMapped{"its constant input '" + printable(onnx_name) + "' is not FLOAT"};
  KeelNode k;
  k.op = "constant";
  k.attrs.emplace_back(
      "shape", yaml_ints(std::vector<std::int64_t>(v.constant->shape().begin(), v.constant->shape().end())));
  k.comment = "ONNX constant '" + printable(onnx_name) + "'";
  const std::string name = emit(std::move(k), identifier_from(onnx_name));
  param(name, "value", v.constant->clone());
  values_[onnx_name].ref = name;
  return name;
}

std::string Importer::unique(const std::string& base) {
  std::string name = base;
  for (int k = 2; used_names_.count(name); ++k) name = base + "_" + std::to_string(k);
  used_names_.insert(name);
  return name;
}

std::string Importer::emit(KeelNode node, const std::string& base) {
  // A graph output's name was reserved up front for the node computing it.
  node.name = reserved_.erase(base) ? base : unique(base);
  nodes_.push_back(node);
  return node.name;
}

void Importer::define(const Node& n, std::size_t i, std::string ref, Shape shape) {
  // Bounded sizes keep every later shape computation from overflowing.
  for (Dim d : shape)
    if (d > (std::int64_t{1} << 31))
      throw NotMapped{"its result " + dims_str(shape) + " has a size above 2^31"};
  if (i >= n.outputs.size() || n.outputs[i].empty()) return;
  values_[n.outputs[i]] = Value{std::move(ref), std::move(shape), std::nullopt};
}

void Importer::define_constant(const Node& n, std::size_t i, Tensor t) {
  if (i >= n.outputs.size() || n.outputs[i].empty()) return;
  Value v;
  v.shape = t.shape();
  v.constant = std::move(t);
  values_[n.outputs[i]] = std::move(v);
}

void Importer::param(const std::string& node, const std::string& name, Tensor t) {
  params_.tensors.emplace_back(node + "." + name, std::move(t));
}

std::string Importer::name_for(const Node& n) const {
  for (const std::string& o : n.outputs) {
    auto it = graph_output_names_.find(o);
    if (it != graph_output_names_.end()) return it->second;
  }
  return identifier_from(n.name);
}

bool Importer::is_used(const std::string& onnx_name) const {
  return readers_.count(onnx_name) > 0 || graph_output_names_.count(onnx_name) > 0;
}

const Node* Importer::sole_reader(const std::string& onnx_name) const {
  auto it = readers_.find(onnx_name);
  return it != readers_.end() && it->second.size() == 1 ? it->second.front() : nullptr;
}

void Importer::absorb(const Node& later, std::string ref, Shape shape) {
  absorbed_[&later] = {std::move(ref), std::move(shape)};
}

std::string Importer::comment_for(const Node& n) const {
  return "ONNX " + printable(n.op_type) + " '" + printable(n.name) + "'";
}

std::string Importer::dims_str(const Shape& s) const {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += is_static(s[i]) ? std::to_string(s[i]) : symbols_.at(static_cast<std::size_t>(-1 - s[i]));
  }
  return out + "]";
}

Shape Importer::input_shape(const ValueInfo& v) {
  if (!v.has_shape)
    throw usage_error(model_.source + ": graph input '" + printable(v.name) +
                      "' has no shape; keel import needs each input's rank and sizes");
  Shape shape;
  for (std::size_t d = 0; d < v.dims.size(); ++d) {
    const ValueInfo::Dim& dim = v.dims[d];
    if (dim.size >= 0) {
      if (dim.size > (std::int64_t{1} << 31))
        throw usage_error(model_.source + ": graph input '" + printable(v.name) + "' has a size of " +
                          std::to_string(dim.size) + " (at most 2^31)");
      shape.push_back(dim.size);
      continue;
    }
    // A named size keeps its name (as an identifier); an unnamed one is
    // named after its input and axis.
    const std::string sym = dim.symbol.empty() ? identifier_from(v.name) + "_dim" + std::to_string(d)
                                               : identifier_from(dim.symbol);
    std::size_t k = 0;
    while (k < symbols_.size() && symbols_[k] != sym) ++k;
    if (k == symbols_.size()) symbols_.push_back(sym);
    shape.push_back(symbolic_dim(static_cast<int>(k)));
  }
  return shape;
}

void Importer::run() {
  const std::string& src = model_.source;
  if (model_.opset < kMinOpset || model_.opset > kMaxOpset)
    throw usage_error(src + ": the model uses opset " + std::to_string(model_.opset) +
                      "; keel import maps opsets " + std::to_string(kMinOpset) + " to " +
                      std::to_string(kMaxOpset) + " (re-export with opset_version in that range)");
  // Every node whose op type has no converter, all listed at once.
  std::vector<std::string> unsupported;
  for (const Node& n : model_.nodes)
    if (!n.domain.empty() || !find_converter(n.op_type))
      unsupported.push_back("'" + printable(n.name) + "' (" +
                            (n.domain.empty() ? "" : printable(n.domain) + ".") + printable(n.op_type) +
                            ", opset " + std::to_string(model_.opset) + ")");
  if (!unsupported.empty()) {
    std::string list;
    for (std::size_t i = 0; i < unsupported.size() && i < 20; ++i) list += (i ? ", " : "") + unsupported[i];
    if (unsupported.size() > 20) list += " and " + std::to_string(unsupported.size() - 20) + " more";
    throw usage_error(src + ": " + std::to_string(unsupported.size()) + " node" +
                      (unsupported.size() == 1 ? " uses an op" : "s use ops") +
                      " keel import does not support: " + list);
  }

  // Who reads each value, once: converters ask while fusing.
  for (const Node& n : model_.nodes)
    for (const std::string& i : n.inputs) {
      std::vector<const Node*>& r = readers_[i];
      if (r.empty() || r.back() != &n) r.push_back(&n);
    }
  for (const ValueInfo& o : model_.outputs) {
    graph_output_names_[o.name] = unique(identifier_from(o.name));
    reserved_.insert(graph_output_names_[o.name]);
  }
  for (const ValueInfo& in : model_.inputs) {
    if (in.elem_type != 1)  // FLOAT
      throw usage_error(src + ": graph input '" + printable(in.name) + "' is " +
                        elem_type_name(in.elem_type) + "; keel import takes FLOAT inputs");
    const std::string name =
        graph_output_names_.count(in.name) ? graph_output_names_[in.name] : unique(identifier_from(in.name));
    Shape shape = input_shape(in);
    inputs_.emplace_back(name, shape);
    values_[in.name] = Value{name, shape, std::nullopt};
  }
  for (const auto& [name, t] : model_.initializers) {
    Value v;
    v.shape = t.shape();
    v.constant = t;
    values_[name] = std::move(v);
  }

  // Nodes a converter refused, with why; nodes downstream of one are not
  // converted (their inputs are unknown) and not listed again.
  std::vector<std::string> refused;
  std::set<std::string> poisoned;
  for (const Node& n : model_.nodes) {
    bool blocked = false;
    for (const std::string& i : n.inputs) blocked = blocked || poisoned.count(i);
    if (!blocked && absorbed_.count(&n)) {
      auto& [ref, shape] = absorbed_[&n];
      define(n, 0, ref, shape);
      continue;
    }
    if (!blocked) {
      try {
        (*find_converter(n.op_type))(*this, n);
        continue;
      } catch (const NotMapped& e) {
        refused.push_back("'" + printable(n.name) + "' (" + printable(n.op_type) + "): " + e.why);
      }
    }
    for (const std::string& o : n.outputs) poisoned.insert(o);
  }
  if (!refused.empty()) {
    std::string list;
    for (std::size_t i = 0; i < refused.size() && i < 8; ++i) list += (i ? "; " : "") + refused[i];
    if (refused.size() > 8) list += "; and " + std::to_string(refused.size() - 8) + " more";
    throw usage_error(src + ": " + std::to_string(refused.size()) + " node" +
                      (refused.size() == 1 ? "" : "s") + " cannot be imported: " + list);
  }
  for (const ValueInfo& o : model_.outputs) {
    auto it = values_.find(o.name);
    if (it == values_.end())
      throw usage_error(src + ": graph output '" + printable(o.name) +
                        "' is an output keel import does not produce");
    const Value& v = it->second;
    if (v.ref.empty() || v.ref != graph_output_names_[o.name])
      throw usage_error(src + ": graph output '" + printable(o.name) +
                        "' is a constant or a graph input; keel import needs it computed by a node");
    outputs_.push_back(v.ref);
  }
}

std::string Importer::yaml(const std::string& graph_name) const {
  std::ostringstream y;
  y << "# Imported by `keel import` from " << printable(model_.source, 200);
  if (!model_.producer.empty()) y << " (" << printable(model_.producer) << ", opset " << model_.opset << ")";
  y << ".\n# Parameters: the .safetensors file beside this one (keel run --params).\n";
  y << "keel: 1\nname: " << graph_name << "\ninputs:\n";
  for (const auto& [name, shape] : inputs_)
    y << "  " << name << ": {dtype: f32, shape: " << dims_str(shape) << "}\n";
  y << "nodes:\n";
  for (const KeelNode& k : nodes_) {
    if (!k.comment.empty()) y << "  # " << k.comment << "\n";
    y << "  - {name: " << k.name << ", op: " << k.op << ", inputs: [";
    for (std::size_t i = 0; i < k.inputs.size(); ++i) y << (i ? ", " : "") << k.inputs[i];
    y << "]";
    if (!k.attrs.empty()) {
      y << ", attrs: {";
      for (std::size_t i = 0; i < k.attrs.size(); ++i)
        y << (i ? ", " : "") << k.attrs[i].first << ": " << k.attrs[i].second;
      y << "}";
    }
    y << "}\n";
  }
  y << "outputs: [";
  for (std::size_t i = 0; i < outputs_.size(); ++i) y << (i ? ", " : "") << outputs_[i];
  y << "]\n";
  return y.str();
}

}  // namespace keel::onnx
