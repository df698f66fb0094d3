// An ONNX model as the importer sees it: nodes, attributes, initializers and
// the graph's inputs and outputs, in plain C++ types. onnx_model.cpp is the
// only file that sees protobuf and ONNX's generated classes; everything it
// returns has been checked (sizes against the bytes present, names defined
// before use, no external data), so the converters work on sound data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/tensor.hpp"

namespace keel::onnx {

struct Attr {
  enum class Kind { int_, float_, string, ints, floats, tensor, other };
  Kind kind = Kind::other;
  std::int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<std::int64_t> ints;
  std::vector<float> floats;
  Tensor t;
};

struct Node {
  std::string name;                 // the ONNX node name (may be empty in the file; then "<op_type>_<index>")
  std::string op_type;              // e.g. "Gemm"
  std::string domain;               // "" for the default (ai.onnx) domain
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;  // "" marks an omitted optional output
  std::map<std::string, Attr> attrs;
};

// A graph input or output: element type (ONNX TensorProto.DataType) and
// shape, each dimension a size or a name (dim_param), or unknown.
struct ValueInfo {
  struct Dim {
    std::int64_t size = -1;  // -1: not a fixed size
    std::string symbol;      // dim_param, when given
  };
  std::string name;
  int elem_type = 0;
  bool has_shape = false;
  std::vector<Dim> dims;
};

struct Model {
  std::string source;  // the file, for messages
  std::string graph_name;
  std::string producer;     // producer_name and version, e.g. "pytorch 1.13.0"
  std::int64_t opset = 0;   // of the default domain
  std::vector<Node> nodes;  // in the file's (topological) order
  std::vector<std::pair<std::string, Tensor>> initializers;  // f32 or i64
  std::vector<ValueInfo> inputs;                             // without the initializers
  std::vector<ValueInfo> outputs;
  const Tensor* initializer(std::string_view name) const;
};

// The largest model file read (protobuf cannot parse more than 2 GiB).
inline constexpr std::uintmax_t kMaxModelBytes = std::uintmax_t{2} << 30;

// Parses and checks a model; every defect is a keel::Error (usage) naming
// `source` and, where there is one, the node or tensor.
Model parse_model(std::string_view bytes, const std::string& source);
Model read_model(const std::filesystem::path& path);

// The model as ONNX bytes (keel export): nodes in order, initializers (f32
// or i64) as raw data, inputs and outputs as FLOAT tensors with their dims
// (a symbol becomes a dim_param). `producer` is written as producer_name.
std::string serialize_model(const Model& model);

// ONNX TensorProto.DataType names, for messages ("FLOAT", "INT64", ...).
std::string elem_type_name(int elem_type);

}  // namespace keel::onnx
