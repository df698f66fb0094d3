// Turning a checked ONNX model (onnx_model.hpp) into a Keel graph file and
// its parameters. The Importer walks the nodes in order, tracks each ONNX
// value's Keel reference and shape (symbolic sizes kept), and asks the
// converter registered for the node's op type (onnx/converters.hpp) to emit
// Keel nodes. Nodes it cannot map are collected, not thrown one at a time,
// so a refusal lists every one of them.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "onnx/onnx_model.hpp"
#include "runtime/safetensors.hpp"

namespace keel::onnx {

// What a node's conversion refuses, with the reason ("Conv with group 2:
// grouped convolutions are not supported").
struct NotMapped {
  std::string why;
};

// One ONNX value: where Keel finds it and what shape it has.
struct Value {
  std::string ref;                 // a Keel input or node name; empty for a constant not yet placed
  Shape shape;                     // symbolic sizes are keel::symbolic_dim(k)
  std::optional<Tensor> constant;  // known at import time (initializer, Constant, folded)
};

// A Keel node as written into the graph file.
struct KeelNode {
  std::string name, op;
  std::vector<std::string> inputs;
  std::vector<std::pair<std::string, std::string>> attrs;  // name, YAML literal
  std::string comment;
};

class Importer {
 public:
  explicit Importer(const Model& model) : model_(model) {}

  std::int64_t opset() const { return model_.opset; }

  // The ONNX value; NotMapped when it is unknown (produced by a node that
  // was not converted) or an omitted optional input.
  const Value& value(const std::string& name) const;
  bool has_input(const Node& n, std::size_t i) const { return i < n.inputs.size() && !n.inputs[i].empty(); }
  // A value known at import time: an initializer, a Constant's, or nullptr.
  const Tensor* constant(const Node& n, std::size_t i) const;
  // The value's Keel reference, placing a `constant` node for a constant.
  std::string ref(const Node& n, std::size_t i);
  std::string ref_of(const std::string& onnx_name);

  // Adds a node and returns its (unique) name. `base` is the wanted name;
  // the node producing a graph output gets the output's name.
  std::string emit(KeelNode node, const std::string& base);
  // Records output `i` of `n` as the Keel value `ref` of `shape`.
  void define(const Node& n, std::size_t i, std::string ref, Shape shape);
  void define_constant(const Node& n, std::size_t i, Tensor t);
  // Adds `<node>.<param>` to the parameter file.
  void param(const std::string& node, const std::string& name, Tensor t);

  // The Keel name for node `n`'s main output (its graph output name, or the
  // ONNX node's name), made an identifier.
  std::string name_for(const Node& n) const;
  std::string comment_for(const Node& n) const;
  // Whether a node or the graph's outputs read this ONNX value.
  bool is_used(const std::string& onnx_name) const;
  bool is_graph_output(const std::string& onnx_name) const {
    return graph_output_names_.count(onnx_name) > 0;
  }
  // The one node reading this value (nullptr: none or several).
  const Node* sole_reader(const std::string& onnx_name) const;
  // A later node that a converter has already emitted as part of its own
  // Keel node: its output is `ref` of `shape`, and it is not converted.
  void absorb(const Node& later, std::string ref, Shape shape);

  // A static size or a symbol's name, for messages.
  std::string dims_str(const Shape& s) const;

  // The whole import: the graph file's text and the parameters. Throws
  // keel::Error (usage) listing every node it could not map.
  void run();
  std::string yaml(const std::string& graph_name) const;
  const TensorFile& params() const { return params_; }

 private:
  std::string unique(const std::string& base);
  Shape input_shape(const ValueInfo& v);

  const Model& model_;
  std::map<std::string, Value> values_;
  std::set<std::string> used_names_;
  std::map<const Node*, std::pair<std::string, Shape>> absorbed_;  // node -> its output
  std::map<std::string, std::vector<const Node*>> readers_;        // ONNX value -> the nodes reading it
  std::set<std::string> reserved_;  // graph outputs' names, until their node is emitted
  std::vector<std::string> symbols_;
  std::vector<std::pair<std::string, Shape>> inputs_;  // Keel name, shape
  std::vector<std::string> outputs_;
  std::vector<KeelNode> nodes_;
  TensorFile params_;
  std::map<std::string, std::string> graph_output_names_;  // ONNX value -> Keel name
};

// A converter emits the Keel nodes for one ONNX node, or throws NotMapped.
using Converter = std::function<void(Importer&, const Node&)>;
// The converter for an op type, or nullptr.
const Converter* find_converter(const std::string& op_type);
// Every supported op type, sorted (for messages and docs).
std::vector<std::string> supported_op_types();

// ONNX opsets the importer maps (docs/onnx.md).
inline constexpr std::int64_t kMinOpset = 11, kMaxOpset = 17;

// Identifier form of an ONNX name: "/fc1/Gemm_output_0" -> "fc1_Gemm_output_0".
std::string identifier_from(const std::string& onnx_name);

// A YAML flow literal for ints, a float (read back exactly) or a bool.
std::string yaml_ints(const std::vector<std::int64_t>& v);
std::string yaml_float(double v);

}  // namespace keel::onnx
