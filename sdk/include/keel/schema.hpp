// The static contract of an operator: what `keel plugins` prints, what the
// graph validator checks attributes against, and what the planner uses to
// allocate and initialize the parameters the op owns. An op's schema is all
// a pipeline author needs to read to use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "keel/tensor.hpp"

namespace keel {

// The spelling of an enum value, by its number; "?" for a number past the
// list (a value read from another build's table, say).
template <class Enum, std::size_t N>
const char* enum_name(Enum v, const char* const (&names)[N]) {
  const auto i = static_cast<std::size_t>(v);
  return i < N ? names[i] : "?";
}

// Whether a value read as a number names one of the enum's N values.
template <class Enum>
bool enum_in_range(Enum v, Enum last) {
  return static_cast<std::size_t>(v) <= static_cast<std::size_t>(last);
}

enum class AttrType : std::uint8_t { Int, Float, Bool, String, Ints, Floats };

inline const char* attr_type_name(AttrType v) {
  return enum_name(v, {"int", "float", "bool", "string", "ints", "floats"});
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

inline const char* init_name(Init v) {
  return enum_name(v, {"zeros", "ones", "he_normal", "he_uniform", "xavier_normal", "xavier_uniform"});
}

// A per-feature statistic of the training rows. A parameter that declares
// one is filled by `train.calibrate` (docs/graph-format.md) from the rows the
// node's input 0 sees, an f32 [rows, features] graph input, before the first
// step; the parameter must have one value per feature.
enum class Statistic : std::uint8_t { none, mean, std, min, max };

inline const char* statistic_name(Statistic v) { return enum_name(v, {"none", "mean", "std", "min", "max"}); }

// A tensor the op owns, stored as `<node>.<name>` (fc1.weight). Its shape is
// given by the op's infer(); its dtype is f32.
struct ParamSpec {
  std::string name;
  std::string doc;
  Init init = Init::Zeros;
  // False for state that is updated by forward, not by an optimizer
  // (batch-norm running statistics).
  bool trainable = true;
  // Population standard deviation for std; a std of 0 is stored as 1.
  Statistic statistic = Statistic::none;
};

// What the training engine does with an op beyond running it. The engine
// knows ops only by these declarations, never by name (docs/sdk.md, "Roles").
enum class Role : std::uint8_t {
  none,
  // A loss: output 0 is the f32 scalar the train section may name; inputs 0
  // and 1 are the prediction and the target, which `metric` is computed from.
  loss,
  // An optimizer: keeps the contract of keel/optimizer.hpp (inputs param,
  // grad, hyper; output updated; its params are per-parameter state).
  optimizer,
  // A guard: watches values and tells the engine when something is wrong; it
  // declares the string attributes `check` and `action` (one of
  // guard_action_name's words) and the outputs flag, score, limit (f32
  // scalars) and mask (f32 [rows]), in that order; the engine reads them
  // after every run and acts (docs/sdk.md, "Guards").
  guard,
};

inline const char* role_name(Role v) { return enum_name(v, {"none", "loss", "optimizer", "guard"}); }

// What the engine reports beside a loss's value, computed from the loss
// node's inputs 0 (prediction) and 1 (target).
enum class Metric : std::uint8_t {
  none,
  accuracy,  // input 0 [rows, classes] logits, input 1 [rows] integer labels
  r2,        // coefficient of determination of input 0 against input 1
};

inline const char* metric_name(Metric v) { return enum_name(v, {"none", "accuracy", "r2"}); }

// What a guard's `action` attribute asks of the engine when its flag is set,
// in increasing severity: when several guards fire on one step, the most
// severe acts.
enum class GuardAction : std::uint8_t {
  report,     // record the event (anomalies.jsonl) and go on
  mask,       // drop the flagged rows (the mask output) and go on
  skip_step,  // leave the parameters as they were this step
  rollback,   // restore the last good parameters and lower the learning rate
  abort,      // stop the run with an error
};

inline constexpr GuardAction kGuardActions[] = {GuardAction::report, GuardAction::mask,
                                                GuardAction::skip_step, GuardAction::rollback,
                                                GuardAction::abort};

inline const char* guard_action_name(GuardAction v) {
  return enum_name(v, {"report", "mask", "skip_step", "rollback", "abort"});
}

inline std::optional<GuardAction> guard_action_from_name(std::string_view name) {
  for (GuardAction a : kGuardActions)
    if (name == guard_action_name(a)) return a;
  return std::nullopt;
}

// The batch dimension of an example's shapes: `{{DType::f32, {kBatch, 4}}}`.
inline constexpr Dim kBatch = symbolic_dim(0);

// One input of an example. A negative dimension (symbolic_dim(k)) is a
// batch-like size: the conformance check binds symbol k to 3 + k, to 0 for
// its zero-size case, and leaves it symbolic to test infer().
struct ExampleInput {
  TensorSpec spec;
  // Values are drawn uniformly from [low, high] (integer dtypes: integers
  // in that closed range), unless `values` lists them all (C order).
  double low = -1.0;
  double high = 1.0;
  std::vector<double> values;
};

// A file an example needs (a key file, say): written, mode 0600, into a
// scratch folder that is the current folder while the example runs, so an
// attribute can name it by a relative path.
struct ExampleFile {
  std::string name;
  std::string contents;
};

// A concrete use of the op: the inputs and attributes `keel check-op` and
// the SDK's conformance kit (keel/testing.hpp) run it with. An op without
// examples is checked with one f32 [batch, 4] tensor per input and default
// attributes; declare an example when that is not a valid use.
struct OpExample {
  std::string doc;
  std::map<std::string, AttrValue> attrs;  // the others take their defaults
  std::vector<ExampleInput> inputs;        // one per input port
  std::vector<ExampleFile> files;
  // Non-empty: this example is invalid on purpose (a combination of values
  // the schema's ranges cannot express), and the op must refuse it from
  // infer, prepare or forward with a message containing this text.
  std::string rejects;
};

struct OpSchema {
  std::string name;
  std::string doc;  // one line
  std::vector<PortSpec> inputs;
  std::vector<PortSpec> outputs;
  std::vector<AttrSpec> attrs;
  std::vector<ParamSpec> params;
  bool has_backward = false;
  Role role = Role::none;
  Metric metric = Metric::none;  // for role loss
  // True when forward, in training, normalizes with statistics of the batch
  // (batch normalization): a one-row batch is then degenerate, and training
  // drops a one-row last batch unless the graph says drop_last: false.
  bool batch_statistics = false;
  // False when forward may give different bytes for the same inputs, seed
  // and step (an encryption that draws fresh nonces). Seeded randomness
  // (dropout) is deterministic: it depends only on the seed and the step.
  bool deterministic = true;
  std::vector<OpExample> examples;
  // True when the op gives correct results with output 0 in the same memory
  // as input 0 (same shape and dtype; an elementwise op whose kernel reads
  // each element before writing it), and input 0's gradient in the same
  // memory as output 0's gradient. The engine then may, when input 0 is not
  // needed afterwards, run the op in place, saving a buffer. Never required.
  bool inplace = false;
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
