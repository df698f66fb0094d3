// A graph file as written: the syntax tree of one YAML graph, with the
// position of every element kept for error messages. Nothing here knows
// about ops or plugins; that is validation's job (graph/validate.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "keel/dtype.hpp"

namespace keel {

// 1-based line and column in GraphDef::file.
struct Loc {
  int line = 0;
  int col = 0;
};

struct DimDef {
  std::int64_t size = -1;  // >= 0 for a number
  std::string symbol;      // the name of a named dimension (`batch`) otherwise
  Loc loc;
};

struct InputDef {
  std::string name;
  DType dtype = DType::f32;
  std::vector<DimDef> shape;
  Loc loc;
};

// A reference to a value: a graph input (`pixels`), a node's first output
// (`fc1`), or a named output port of a node (`fc1.out`).
struct ValueRef {
  std::string name;  // graph input or node name
  std::string port;  // empty: the first output
  Loc loc;
  std::string text() const { return port.empty() ? name : name + "." + port; }
};

// An attribute value as written: a scalar or a flow/block list of scalars.
// Typing happens against the op's schema during validation.
struct AttrLiteral {
  bool is_list = false;
  std::vector<std::string> items;  // one item for a scalar
  std::vector<Loc> item_locs;
  std::vector<bool> item_quoted;  // per item: written in quotes, so always a string
  bool quoted = false;            // a scalar written in quotes is always a string
  Loc loc;                        // the value
  Loc name_loc;                   // the attribute's key
};

// A parameter's initializer chosen in the graph file (`init: {weight:
// normal(0.01)}`): the kind and its checked arguments; the planner fills
// the parameter (planner/init.hpp).
struct InitDef {
  std::string kind;  // zeros, ones, constant, normal, uniform, xavier, xavier_normal, kaiming, kaiming_normal
  std::vector<double> args;  // constant(v), normal(std), uniform(a, b); empty: the kind's defaults
  std::string text;          // as written, for messages
  Loc loc;                   // the value
  Loc name_loc;              // the parameter's key
};

struct NodeDef {
  std::string name;
  std::string op;
  std::vector<ValueRef> inputs;
  std::map<std::string, AttrLiteral> attrs;
  std::map<std::string, InitDef> init;  // parameter name -> initializer (instead of the op's default)
  Loc loc;                              // the node's mapping
  Loc op_loc;                           // the `op:` value
  Loc inputs_loc;                       // the `inputs:` value, or the node's position when absent
};

// One entry of `images:`: an output drawn as a grid of grayscale pictures
// beside its .npy. The numbers are checked for their own sake here; whether
// the output's shape makes such images is checked where the shape is known.
struct ImageDef {
  std::string output;                  // the output's reference text, as `outputs:` lists it
  std::int64_t height = 0, width = 0;  // 0: from the output's shape
  double low = 0, high = 1;            // `range: [low, high]`, mapped to black and white
  std::int64_t scale = 4;              // each pixel becomes a scale x scale block
  std::int64_t columns = 0;            // 0: ceil(sqrt(N))
  Loc loc;                             // the entry's key (the output's name)
};

struct TrainDef;  // graph/train_def.hpp

struct GraphDef {
  std::string file;  // as given on the command line, for messages
  int version = 0;   // the `keel:` format version
  std::string name;
  std::uint64_t seed = 0;
  std::vector<InputDef> inputs;
  std::vector<NodeDef> nodes;
  std::vector<ValueRef> outputs;
  std::vector<ImageDef> images;     // `images:`, in file order
  std::shared_ptr<TrainDef> train;  // the train: section, when there is one
};

// User text as error messages quote it: on one line (control characters
// escaped) and at most `limit` characters, so a message stays one line even
// when a key or value in the file spans several.
inline std::string display_text(std::string_view s, std::size_t limit = 60) { return printable(s, limit); }

}  // namespace keel
