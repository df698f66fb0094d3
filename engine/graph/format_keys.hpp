// The graph format's mappings, one table each: the keys a mapping may hold,
// how each value is written, whether it is required, and a doc line. The
// parser (graph/parse*.cpp) rejects any key not in its mapping's table,
// `keel schema` builds its JSON Schema from the same tables, and
// `--set train.PATH=VALUE` reaches exactly the keys of the settable ones,
// so the three cannot disagree on which keys exist.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace keel::format {

// How a value is written. The parser checks it, `keel schema` turns it into
// JSON Schema; `custom` values need more than a kind (a reference list, the
// registry's op names, a fraction or a source) and both write them by hand.
enum class Value {
  integer,     // decimal integer >= min
  number,      // finite number in [min, below)
  boolean,     // true or false
  string,      // any scalar; min > 0: not empty
  choice,      // one of `choices`
  reference,   // `name` or `name.port`
  identifier,  // [A-Za-z_][A-Za-z0-9_]*
  names,       // one name or a list of names (or file names)
  file_map,    // mapping of a graph input's name to a file
  mapping,     // a mapping with its own table (`Key::table`)
  custom,
};

struct Mapping;

struct Key {
  std::string_view name;
  Value value;
  std::string_view doc;
  bool required = false;
  double min = 0;                                          // integer, number, string (length)
  double below = std::numeric_limits<double>::infinity();  // number
  std::vector<std::string_view> choices;                   // choice
  const Mapping* table = nullptr;                          // mapping
};

struct Mapping {
  std::string_view path;     // where it sits: "train.data"
  std::string_view where;    // how an unknown key's error places it: "in train.data"
  std::vector<Key> keys;     // in the order the docs list them
  bool open = false;         // other keys are allowed too (the optimizer op's attributes)
  bool exactly_one = false;  // exactly one of its keys must be given
  bool settable = false;     // `--set train.PATH.KEY` reaches its keys one by one

  const Key* find(std::string_view name) const;
  std::vector<std::string> names() const;
};

// The mappings, from the top of a graph file down.
const Mapping& top_keys();          // the file itself
const Mapping& input_keys();        // one entry of inputs:
const Mapping& node_keys();         // one item of nodes:
const Mapping& image_keys();        // one entry of images:
const Mapping& train_keys();        // train:
const Mapping& phase_keys();        // one item of train.phases
const Mapping& samples_keys();      // train.samples
const Mapping& distributed_keys();  // train.distributed
const Mapping& data_keys();         // train.data
const Mapping& source_keys();       // train.data.holdout given as a source
const Mapping& optimizer_keys();    // train.optimizer (open: the op's attributes)
const Mapping& schedule_keys();     // train.optimizer.schedule
const Mapping& checkpoint_keys();   // train.checkpoint
const Mapping& encrypt_keys();      // train.checkpoint.encrypt
const Mapping& sign_keys();         // train.checkpoint.sign

// The settable mappings below train: (train itself first), each with the
// key path from train: down to it ("" for train itself, "data", ...).
std::vector<std::pair<std::string, const Mapping*>> settable_mappings();

// The initializers a node's `init:` may name (planner/init.cpp fills the
// parameters): a name alone (`zeros`), or with numbers in parentheses
// (`normal(0.01)`). The parser reads them, `keel schema` writes its pattern
// from them.
struct Initializer {
  std::string_view name;
  std::string_view args;  // the numbers as the docs name them ("std", "a, b"); empty: none
  std::size_t count = 0;  // how many numbers the parentheses hold
  bool needs_args = false;
};
const std::vector<Initializer>& initializers();
// "zeros, ones, constant(v), ...": every initializer, for messages.
std::string initializer_list();

}  // namespace keel::format
