#include "graph/parse.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "base/error.hpp"
#include "base/json.hpp"
#include "base/suggest.hpp"
#include "graph/train_def.hpp"
#include "graph/yaml_tree.hpp"

namespace keel {
namespace {

// Both caps keep a hostile file from costing more than a moment: the YAML
// tree shares aliased nodes, so a small file can describe a huge (or
// cyclic) tree, and only our own walk decides how much of it is visited.
constexpr std::uintmax_t kMaxFileBytes = 16u << 20;
constexpr std::size_t kMaxVisitedNodes = 4'000'000;
constexpr std::size_t kMaxReservedNodes = 1'000'000;

const std::vector<std::string> kTopKeys = {"keel", "name", "seed", "inputs", "nodes", "outputs", "train"};
const std::vector<std::string> kNodeKeys = {"name", "op", "inputs", "attrs", "init"};
const std::vector<std::string> kTrainKeys = {"loss",       "data",   "epochs",    "steps",   "optimizer",
                                             "checkpoint", "freeze", "calibrate", "metrics", "report"};
const std::vector<std::string> kDataKeys = {"csv",   "npy",     "columns",   "header",
                                            "batch", "shuffle", "drop_last", "holdout"};
const std::vector<std::string> kScheduleKeys = {"kind", "warmup", "every", "gamma", "min_lr"};
const std::vector<std::string> kCheckpointKeys = {"path", "every", "encrypt"};
// Parameter initializers a node's `init:` may name (planner/init.cpp fills them).
const std::vector<std::string> kInitKinds = {
    "zeros", "ones", "constant", "normal", "uniform", "xavier", "xavier_normal", "kaiming", "kaiming_normal"};
const std::vector<std::string> kInputKeys = {"dtype", "shape"};

// Suggestions only for name-sized words: the edit distance costs the
// product of the two lengths, and a file can hold a megabyte-long key.
std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
  return word.size() <= 64 ? did_you_mean(word, candidates) : std::string();
}

// What an unknown key gets: the near names, or every allowed key.
std::string unknown_key_hint(const std::string& key, const std::vector<std::string>& allowed) {
  std::string hint = suggestion(key, allowed);
  if (!hint.empty()) return hint;
  hint = " (allowed:";
  for (std::size_t j = 0; j < allowed.size(); ++j) hint += (j ? ", " : " ") + allowed[j];
  return hint + ")";
}

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(s[0])) return false;
  for (char c : s)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

// Quoted or explicitly tagged as a string: never read as a number or bool.
bool is_quoted(const yaml::Node& n) { return n.quoted(); }

const char* kind_name(const yaml::Node& n) {
  switch (n.kind()) {
    case yaml::Kind::map:
      return "a mapping";
    case yaml::Kind::sequence:
      return "a sequence";
    case yaml::Kind::scalar:
      return "a scalar";
    default:
      return "empty";
  }
}

std::optional<std::int64_t> parse_decimal(std::string_view s) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e || b == e) return std::nullopt;
  return v;
}

struct Entry {
  std::string key;
  yaml::Node value;
  Loc key_loc;
  Loc value_loc;  // the key's position when the value is empty
};

class GraphParser {
 public:
  explicit GraphParser(std::string file) : file_(std::move(file)) {}

  // One `--set train.KEY=VALUE`: VALUE is read as YAML and checked exactly
  // as the same key in the file would be.
  void apply_train_setting(TrainDef& t, const std::string& path, const std::string& value) {
    const yaml::Tree tree(value, file_);
    if (!tree.has_root()) fail("expected a value", {1, 1});
    std::vector<std::string> parts;
    for (std::size_t b = 0;;) {
      const std::size_t dot = path.find('.', b);
      parts.push_back(path.substr(b, dot == std::string::npos ? std::string::npos : dot - b));
      if (dot == std::string::npos) break;
      b = dot + 1;
    }
    const yaml::Node root = tree.root();
    auto entry = [&](const std::string& key) { return Entry{key, root, {1, 1}, loc(root, {1, 1})}; };
    auto known = [&](const std::string& key, const std::vector<std::string>& allowed,
                     const std::string& where) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail("unknown key '" + display_text(key) + "' " + where + unknown_key_hint(key, allowed), {1, 1});
    };
    const std::string& head = parts[0];
    if (parts.size() == 1) {
      known(head, kTrainKeys, "in train");
      train_key(t, entry(head));
    } else if (head == "data" && parts.size() == 2) {
      known(parts[1], kDataKeys, "in train.data");
      // A source given on the command line replaces the file's, of either kind.
      if (parts[1] == "csv") t.data.npy.clear();
      if (parts[1] == "npy") t.data.csv.clear();
      data_key(t.data, entry(parts[1]));
      check_data(t.data, t.data.loc);
    } else if (head == "optimizer" && parts.size() == 2) {
      optimizer_key(t.optimizer, entry(parts[1]));
    } else if (head == "optimizer" && parts.size() == 3 && parts[1] == "schedule") {
      known(parts[2], kScheduleKeys, "in the schedule");
      schedule_key(t.optimizer.schedule, entry(parts[2]));
    } else if (head == "checkpoint" && parts.size() == 2) {
      known(parts[1], kCheckpointKeys, "in train.checkpoint");
      checkpoint_key(t.checkpoint, entry(parts[1]));
      if (t.checkpoint.path.empty()) fail("train.checkpoint needs 'path:'", {1, 1});
    } else {
      known(head, kTrainKeys, "in train");
      fail("'" + display_text(path) +
               "' is not a training key (keys: train.KEY, train.data.KEY, "
               "train.optimizer.KEY, train.optimizer.schedule.KEY, train.checkpoint.KEY)",
           {1, 1});
    }
  }

  GraphDef parse(const std::string& text) {
    // One pass of yaml-cpp's parser; its syntax errors come out as ours.
    const yaml::Tree tree(text, file_);
    if (!tree.has_root())
      fail("the graph file is empty (it needs at least 'keel: 1', 'nodes:' and 'outputs:')", {1, 1});
    if (tree.has_second_document())
      fail("a graph file holds one YAML document; found a second one", tree.second_document());
    const yaml::Node top = tree.root();
    if (!top.is_map())
      fail(std::string("the top level must be a mapping ('keel: 1', 'nodes:', 'outputs:'), not ") +
               kind_name(top),
           loc(top, {1, 1}));
    return parse_top(top);
  }

 private:
  [[noreturn]] void fail(const std::string& message, Loc l) const {
    throw usage_error(message, SourceLoc{file_, l.line, l.col});
  }

  // Where `n` was written, or `fallback` (its key or enclosing element) when
  // yaml-cpp has no useful mark: an empty value is marked at the next token,
  // and an alias carries its anchor's mark, which lies before the alias.
  static Loc loc(const yaml::Node& n, Loc fallback) {
    const Loc l = n.mark();
    if (l.line == 0 || n.is_null()) return fallback;
    return std::tie(l.line, l.col) < std::tie(fallback.line, fallback.col) ? fallback : l;
  }

  void visit() {
    if (++visited_ > kMaxVisitedNodes)
      throw usage_error("the graph file has too many elements (aliases expand beyond " +
                            std::to_string(kMaxVisitedNodes) + ")",
                        SourceLoc{file_, 1, 1});
  }

  // The entries of a mapping in document order, with duplicate and unknown
  // keys rejected. The parser keeps duplicates silently, so this is the only
  // place they can be caught.
  std::vector<Entry> entries(const yaml::Node& map, const std::vector<std::string>& allowed,
                             const std::string& where) {
    const std::size_t n = map.size();
    std::vector<Entry> out;
    out.reserve(n);
    // Duplicates: a look through the entries so far for the few keys of a
    // node, a hash map (never a quadratic scan) for a long mapping.
    constexpr std::size_t kScanUpTo = 16;
    std::unordered_map<std::string_view, Loc> seen;
    for (std::size_t i = 0; i < n; ++i) {
      visit();
      const yaml::Node k = map.key(i);
      Loc kl = loc(k, loc(map, {1, 1}));
      if (!k.is_scalar()) fail(std::string("a key must be a name, not ") + kind_name(k), kl);
      const std::string_view key = k.scalar();
      std::optional<Loc> first;
      if (n > kScanUpTo) {
        if (auto [pos, fresh] = seen.emplace(key, kl); !fresh) first = pos->second;
      } else {
        for (const Entry& e : out)
          if (e.key == key) {
            first = e.key_loc;
            break;
          }
      }
      if (first)
        fail("duplicate key '" + display_text(key) + "' (first at line " + std::to_string(first->line) + ")", kl);
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        fail("unknown key '" + display_text(key) + "' " + where + unknown_key_hint(std::string(key), allowed),
             kl);
      }
      const yaml::Node v = map.value(i);
      out.push_back({std::string(key), v, kl, loc(v, kl)});
    }
    return out;
  }

  std::string scalar(const Entry& e, const std::string& what) {
    if (!e.value.is_scalar())
      fail("'" + display_text(e.key) + "' must be " + what + ", not " + kind_name(e.value), e.value_loc);
    return std::string(e.value.scalar());
  }

  std::string identifier(const Entry& e, const std::string& what) {
    std::string s = scalar(e, "a name");
    if (!is_identifier(s))
      fail("invalid " + what + " name '" + display_text(s) +
               "': names are identifiers ([A-Za-z_][A-Za-z0-9_]*)",
           e.value_loc);
    return s;
  }

  void need_kind(const Entry& e, yaml::Kind kind, const std::string& what) {
    if (e.value.kind() != kind)
      fail("'" + display_text(e.key) + "' must be " + what + ", not " + kind_name(e.value), e.value_loc);
  }

  // Node and input names share one namespace: a reference names either.
  void claim_name(const std::string& name, Loc l, const char* kind) {
    if (auto [pos, fresh] = names_.emplace(name, std::pair{l, kind}); !fresh)
      fail("duplicate name '" + name + "': already used by the " + pos->second.second + " at line " +
               std::to_string(pos->second.first.line),
           l);
  }

  ValueRef parse_ref(const yaml::Node& n, Loc fallback) {
    visit();
    Loc l = loc(n, fallback);
    if (!n.is_scalar()) fail(std::string("a reference must be 'name' or 'name.port', not ") + kind_name(n), l);
    const std::string_view s = n.scalar();
    ValueRef r;
    r.loc = l;
    auto dot = s.find('.');
    r.name = s.substr(0, dot);
    if (dot != std::string::npos) r.port = s.substr(dot + 1);
    if (!is_identifier(r.name) || (dot != std::string::npos && !is_identifier(r.port)))
      fail("invalid reference '" + display_text(s) + "': a reference is 'name' or 'name.port'", l);
    return r;
  }

  std::vector<ValueRef> parse_refs(const Entry& e) {
    if (!e.value.is_sequence())
      fail("'" + display_text(e.key) + "' must be a sequence of references such as [x, h.y], not " +
               kind_name(e.value),
           e.value_loc);
    std::vector<ValueRef> refs;
    for (std::size_t i = 0; i < e.value.size(); ++i) refs.push_back(parse_ref(e.value.item(i), e.value_loc));
    return refs;
  }

  GraphDef parse_top(const yaml::Node& top) {
    GraphDef g;
    g.file = file_;
    auto top_entries = entries(top, kTopKeys, "at the top level");
    const Loc top_loc = loc(top, {1, 1});

    // The version decides how to read everything else, so it goes first.
    auto version =
        std::find_if(top_entries.begin(), top_entries.end(), [](const Entry& e) { return e.key == "keel"; });
    if (version == top_entries.end())
      fail("missing 'keel:' (the graph format version; this keel reads " +
               std::to_string(kGraphFormatVersion) + ")",
           top_loc);
    auto v = version->value.is_scalar() && !is_quoted(version->value) ? parse_decimal(version->value.scalar())
                                                                       : std::nullopt;
    if (!v)
      fail("'keel:' must be an integer format version, not " +
               (version->value.is_scalar() ? "'" + display_text(version->value.scalar()) + "'"
                                          : kind_name(version->value)),
           version->value_loc);
    if (*v != kGraphFormatVersion)
      fail("unsupported graph format version " + std::to_string(*v) + " (this keel reads " +
               std::to_string(kGraphFormatVersion) + ")",
           version->value_loc);
    g.version = static_cast<int>(*v);

    bool has_nodes = false, has_outputs = false;
    for (const Entry& e : top_entries) {
      if (e.key == "name") {
        g.name = scalar(e, "a string");
      } else if (e.key == "seed") {
        auto s = e.value.is_scalar() && !is_quoted(e.value) ? parse_decimal(e.value.scalar()) : std::nullopt;
        if (!s || *s < 0)
          fail("'seed:' must be a non-negative integer" +
                   (e.value.is_scalar() ? ", not '" + display_text(e.value.scalar()) + "'" : std::string()),
               e.value_loc);
        g.seed = static_cast<std::uint64_t>(*s);
      } else if (e.key == "inputs") {
        if (!e.value.is_null())
          need_kind(e, yaml::Kind::map, "a mapping of input names to {dtype, shape}");
        if (e.value.is_map()) parse_inputs(e.value, g);
      } else if (e.key == "nodes") {
        need_kind(e, yaml::Kind::sequence, "a sequence of nodes");
        if (e.value.size() == 0) fail("'nodes:' is empty: a graph needs at least one node", e.value_loc);
        // Sized once (growing copies every node), up to a bound: a hostile
        // file can list millions of items that are not nodes at all.
        const std::size_t expected = std::min<std::size_t>(e.value.size(), kMaxReservedNodes);
        g.nodes.reserve(expected);
        names_.reserve(names_.size() + expected);
        for (std::size_t i = 0; i < e.value.size(); ++i) g.nodes.push_back(parse_node(e.value.item(i), e.value_loc));
        has_nodes = true;
      } else if (e.key == "outputs") {
        g.outputs = parse_refs(e);
        if (g.outputs.empty()) fail("'outputs:' is empty: a graph needs at least one output", e.value_loc);
        std::map<std::string, Loc> listed;
        for (const ValueRef& r : g.outputs)
          if (!listed.emplace(r.text(), r.loc).second)
            fail("output '" + r.text() + "' is listed twice (first at line " +
                     std::to_string(listed[r.text()].line) + ")",
                 r.loc);
        has_outputs = true;
      } else if (e.key == "train") {
        g.train = parse_train(e);
      }
    }
    if (!has_nodes) fail("missing 'nodes:' (the graph's operations)", top_loc);
    if (!has_outputs) fail("missing 'outputs:' (the values the graph produces)", top_loc);
    return g;
  }

  void parse_inputs(const yaml::Node& map, GraphDef& g) {
    for (const Entry& e : entries(map, {}, "")) {
      InputDef in;
      in.loc = e.key_loc;
      if (!is_identifier(e.key))
        fail("invalid input name '" + display_text(e.key) +
                 "': names are identifiers ([A-Za-z_][A-Za-z0-9_]*)",
             e.key_loc);
      in.name = e.key;
      claim_name(in.name, in.loc, "input");
      if (!e.value.is_map())
        fail(
            "input '" + in.name + "' must be a mapping {dtype: ..., shape: [...]}, not " + kind_name(e.value),
            e.value_loc);
      bool has_dtype = false, has_shape = false;
      for (const Entry& f : entries(e.value, kInputKeys, "in input '" + in.name + "'")) {
        if (f.key == "dtype") {
          std::string d = scalar(f, "a dtype name");
          auto t = dtype_from_name(d);
          if (!t)
            fail("unknown dtype '" + display_text(d) + "' (valid: f32, f64, i32, i64, u8, bool)",
                 f.value_loc);
          in.dtype = *t;
          has_dtype = true;
        } else {
          need_kind(f, yaml::Kind::sequence, "a sequence of dimensions such as [batch, 64]");
          for (std::size_t i = 0; i < f.value.size(); ++i)
            in.shape.push_back(parse_dim(f.value.item(i), f.value_loc, in.name));
          has_shape = true;
        }
      }
      if (!has_dtype) fail("input '" + in.name + "' is missing 'dtype:'", in.loc);
      if (!has_shape) fail("input '" + in.name + "' is missing 'shape:'", in.loc);
      g.inputs.push_back(std::move(in));
    }
  }

  DimDef parse_dim(const yaml::Node& n, Loc fallback, const std::string& input) {
    visit();
    DimDef d;
    d.loc = loc(n, fallback);
    const std::string text = n.is_scalar() ? std::string(n.scalar()) : std::string(kind_name(n));
    if (n.is_scalar() && !is_quoted(n)) {
      if (auto v = parse_decimal(text); v && *v >= 0) {
        d.size = *v;
        return d;
      }
    }
    if (n.is_scalar() && is_identifier(text)) {
      d.symbol = text;
      return d;
    }
    fail("bad dimension '" + display_text(text) + "' in the shape of input '" + input +
             "': a dimension is a non-negative integer or a name such as 'batch'",
         d.loc);
  }

  NodeDef parse_node(const yaml::Node& n, Loc fallback) {
    visit();
    NodeDef node;
    node.loc = loc(n, fallback);
    if (!n.is_map())
      fail(std::string("a node must be a mapping {name: ..., op: ..., inputs: [...]}, not ") + kind_name(n),
           node.loc);
    bool has_name = false, has_op = false;
    node.inputs_loc = node.loc;
    auto fields = entries(n, kNodeKeys, "in a node");
    for (const Entry& e : fields) {
      if (e.key == "name") {
        node.name = identifier(e, "node");
        claim_name(node.name, e.value_loc, "node");
        has_name = true;
      } else if (e.key == "op") {
        node.op = scalar(e, "an op name");
        node.op_loc = e.value_loc;
        has_op = true;
      } else if (e.key == "inputs") {
        node.inputs_loc = e.value_loc;
        if (!e.value.is_null()) node.inputs = parse_refs(e);
      } else if (e.key == "attrs") {
        if (e.value.is_null()) continue;
        need_kind(e, yaml::Kind::map, "a mapping of attribute names to values");
        for (const Entry& a : entries(e.value, {}, "")) node.attrs.emplace(a.key, parse_attr(a));
      } else if (e.key == "init") {
        if (e.value.is_null()) continue;
        need_kind(e, yaml::Kind::map, "a mapping of parameter names to initializers such as {weight: zeros}");
        for (const Entry& a : entries(e.value, {}, "")) node.init.emplace(a.key, parse_init(a));
      }
    }
    if (!has_name) fail("a node is missing 'name:'", node.loc);
    if (!has_op) fail("node '" + node.name + "' is missing 'op:'", node.loc);
    return node;
  }

  // "zeros", "normal(0.01)", "uniform(-0.1, 0.1)": a kind and its numbers,
  // with the same defaults as torch.nn.init (normal: std 1; uniform: 0, 1).
  InitDef parse_init(const Entry& a) {
    InitDef d;
    d.loc = a.value_loc;
    d.name_loc = a.key_loc;
    d.text = scalar(a, "an initializer such as zeros, normal(0.01), uniform(-0.1, 0.1), xavier or kaiming");
    const std::string& s = d.text;
    const auto open = s.find('(');
    d.kind = s.substr(0, open);
    while (!d.kind.empty() && d.kind.back() == ' ') d.kind.pop_back();
    if (std::find(kInitKinds.begin(), kInitKinds.end(), d.kind) == kInitKinds.end()) {
      std::string hint = suggestion(d.kind, kInitKinds);
      if (hint.empty())
        hint =
            " (known: zeros, ones, constant(v), normal(std), uniform(a, b), xavier, "
            "xavier_normal, kaiming, kaiming_normal)";
      fail("unknown initializer '" + display_text(s) + "' for parameter '" + display_text(a.key) + "'" + hint,
           d.loc);
    }
    auto bad = [&](const std::string& why) {
      fail("initializer '" + display_text(s) + "' for parameter '" + display_text(a.key) + "': " + why,
           d.loc);
    };
    if (open != std::string::npos) {
      if (s.back() != ')')
        bad("expected ')' at the end (inside {...}, quote it: a comma ends a YAML flow value)");
      const std::string body = s.substr(open + 1, s.size() - open - 2);
      std::size_t b = 0;
      for (;;) {
        const std::size_t comma = body.find(',', b);
        std::string item = body.substr(b, comma == std::string::npos ? std::string::npos : comma - b);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        double v = 0;
        auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
        if (item.empty() || ec != std::errc() || end != item.data() + item.size() || !std::isfinite(v))
          bad("'" + display_text(item) + "' is not a finite number");
        // Parameters are f32: a value (or a spread, a width) near FLT_MAX
        // would draw infinities.
        if (std::fabs(v) > 1e30)
          bad("'" + display_text(item) + "' is beyond what an f32 parameter holds (1e30)");
        d.args.push_back(v);
        if (comma == std::string::npos) break;
        b = comma + 1;
      }
    }
    const std::size_t want = d.kind == "uniform" ? 2 : d.kind == "constant" || d.kind == "normal" ? 1 : 0;
    if (d.kind == "constant" && d.args.size() != 1) bad("expected one value: constant(v)");
    if (!d.args.empty() && d.args.size() != want)
      bad(want == 0 ? "'" + d.kind + "' takes no arguments"
                    : "expected " + std::to_string(want) + (want == 1 ? " number" : " numbers"));
    if (d.kind == "normal" && !d.args.empty() && !(d.args[0] > 0))
      bad("the standard deviation must be positive");
    if (d.kind == "uniform" && !d.args.empty() && !(d.args[0] < d.args[1]))
      bad("the lower bound must be below the upper bound");
    return d;
  }

  // ---- the train: section (graph/train_def.hpp). Only its form is checked
  // here; whether it fits the graph (inputs, columns, optimizer attributes)
  // is the trainer's check, which knows the graph and the registry.
  std::shared_ptr<TrainDef> parse_train(const Entry& e) {
    need_kind(e, yaml::Kind::map, "a mapping");
    auto t = std::make_shared<TrainDef>();
    t->loc = e.key_loc;
    bool has_loss = false, has_data = false;
    for (const Entry& f : entries(e.value, kTrainKeys, "in train")) {
      train_key(*t, f);
      has_loss |= f.key == "loss";
      has_data |= f.key == "data";
    }
    if (!has_loss) fail("the train: section needs 'loss:' (the node whose output is minimized)", e.key_loc);
    if (!has_data) fail("the train: section needs 'data:'", e.key_loc);
    return t;
  }

  // One key of train: (known to be one of kTrainKeys).
  void train_key(TrainDef& t, const Entry& f) {
    if (f.key == "loss") {
      t.loss = parse_ref(f.value, f.value_loc);
    } else if (f.key == "data") {
      t.data = parse_data(f);
    } else if (f.key == "epochs") {
      t.epochs = integer(f, 1);
    } else if (f.key == "steps") {
      t.steps = integer(f, 1);
    } else if (f.key == "optimizer") {
      t.optimizer = parse_optimizer(f);
    } else if (f.key == "checkpoint") {
      t.checkpoint = parse_checkpoint(f);
    } else if (f.key == "freeze") {
      t.freeze = name_list(f);
    } else if (f.key == "calibrate") {
      t.calibrate = name_list(f);
    } else if (f.key == "report") {
      t.report = flag(f);
    } else {
      t.metrics = scalar(f, "a file name");
      t.metrics_loc = f.value_loc;
    }
  }

  std::int64_t integer(const Entry& f, std::int64_t min) {
    auto v = parse_decimal(scalar(f, "an integer"));
    if (!v || *v < min)
      fail("'" + f.key + "' must be an integer of at least " + std::to_string(min), f.value_loc);
    return *v;
  }

  double number(const Entry& f, double min, double below = HUGE_VAL) {
    const std::string s = scalar(f, "a number");
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v < min || v >= below)
      fail("'" + f.key + "' must be a number in [" + json_number(min) + ", " +
               (below == HUGE_VAL ? std::string("inf") : json_number(below)) + ")",
           f.value_loc);
    return v;
  }

  bool flag(const Entry& f) {
    const std::string s = scalar(f, "true or false");
    if (s != "true" && s != "false") fail("'" + f.key + "' must be true or false", f.value_loc);
    return s == "true";
  }

  std::vector<std::string> name_list(const Entry& f) {
    std::vector<std::string> out;
    if (f.value.is_scalar()) return {std::string(f.value.scalar())};
    need_kind(f, yaml::Kind::sequence, "a list of names");
    for (std::size_t i = 0; i < f.value.size(); ++i) {
      visit();
      const yaml::Node item = f.value.item(i);
      if (!item.is_scalar()) fail("'" + f.key + "' must be a list of names", loc(item, f.value_loc));
      out.emplace_back(item.scalar());
    }
    return out;
  }

  DataDef parse_data(const Entry& e) {
    need_kind(e, yaml::Kind::map, "a mapping");
    DataDef d;
    d.loc = e.key_loc;
    for (const Entry& f : entries(e.value, kDataKeys, "in train.data")) data_key(d, f);
    check_data(d, e.key_loc);
    return d;
  }

  // One key of train.data (known to be one of kDataKeys).
  void data_key(DataDef& d, const Entry& f) {
    if (f.key == "csv") {
      d.csv = name_list(f);
    } else if (f.key == "npy") {
      d.npy = npy_files(f);
    } else if (f.key == "columns") {
      need_kind(f, yaml::Kind::map, "a mapping of input to columns");
      d.columns.clear();
      for (const Entry& g : entries(f.value, {}, "")) d.columns.push_back(parse_columns(g));
    } else if (f.key == "header") {
      d.header = flag(f);
    } else if (f.key == "batch") {
      d.batch = integer(f, 1);
    } else if (f.key == "shuffle") {
      d.shuffle = flag(f);
    } else if (f.key == "drop_last") {
      d.drop_last = flag(f);
    } else if (f.value.is_map()) {
      d.holdout = 0;
      d.holdout_source = parse_source(f);
    } else {
      d.holdout = number(f, 0.0, 1.0);
      d.holdout_source.reset();
    }
  }

  std::vector<std::pair<std::string, std::string>> npy_files(const Entry& f) {
    need_kind(f, yaml::Kind::map, "a mapping of input to file");
    std::vector<std::pair<std::string, std::string>> out;
    for (const Entry& g : entries(f.value, {}, "")) out.emplace_back(g.key, scalar(g, "a file name"));
    return out;
  }

  // holdout: {csv: [...]} or {npy: {...}}: rows read like the training data's.
  DataSourceDef parse_source(const Entry& e) {
    DataSourceDef src;
    src.loc = e.key_loc;
    for (const Entry& f : entries(e.value, {"csv", "npy"}, "in train.data.holdout")) {
      if (f.key == "csv")
        src.csv = name_list(f);
      else
        src.npy = npy_files(f);
    }
    if (src.csv.empty() == src.npy.empty())
      fail("train.data.holdout needs a fraction, or exactly one of 'csv:' and 'npy:'", e.key_loc);
    return src;
  }

  void check_data(const DataDef& d, Loc where) {
    if (d.csv.empty() == d.npy.empty())
      fail("train.data needs exactly one of 'csv:' (with 'columns:') and 'npy:'", where);
    if (!d.csv.empty() && d.columns.empty()) fail("train.data: 'csv:' needs 'columns:'", where);
    if (d.holdout_source && d.holdout_source->csv.empty() != d.csv.empty())
      fail("train.data.holdout must be the same kind of source as the training data (" +
               std::string(d.csv.empty() ? "npy" : "csv") + ")",
           d.holdout_source->loc);
  }

  // "0:64" (columns 0..63) or a single column number; or header names:
  // "mean radius:worst area" (both included) or one name. A spec that reads
  // as numbers is numbers.
  ColumnsDef parse_columns(const Entry& g) {
    ColumnsDef c;
    c.input = g.key;
    c.loc = g.key_loc;
    const std::string s = scalar(g, "a column number, a range 'first:end', or column names");
    const auto colon = s.find(':');
    auto is_number = [](const std::string& t) { return parse_decimal(t).has_value(); };
    const bool numeric =
        is_number(s.substr(0, colon)) || (colon != std::string::npos && is_number(s.substr(colon + 1)));
    if (!numeric) {
      c.first_name = s.substr(0, colon);
      if (colon != std::string::npos) c.last_name = s.substr(colon + 1);
      c.single = colon == std::string::npos;
      if (c.first_name.empty() || (colon != std::string::npos && c.last_name.empty()))
        fail("columns of '" + g.key + "': a name range is 'first name:last name'", g.value_loc);
      return c;
    }
    auto first = parse_decimal(s.substr(0, colon));
    auto end = colon == std::string::npos ? first : parse_decimal(s.substr(colon + 1));
    if (!first || !end || *first < 0 || (colon != std::string::npos && *end <= *first))
      fail("columns of '" + g.key + "' must be a column number or a range 'first:end' with end > first",
           g.value_loc);
    c.first = *first;
    c.single = colon == std::string::npos;
    c.count = c.single ? 1 : *end - *first;
    return c;
  }

  OptimizerDef parse_optimizer(const Entry& e) {
    need_kind(e, yaml::Kind::map, "a mapping");
    OptimizerDef o;
    o.loc = o.op_loc = e.key_loc;
    for (const Entry& f : entries(e.value, {}, "")) {
      optimizer_key(o, f);
    }
    return o;
  }

  void optimizer_key(OptimizerDef& o, const Entry& f) {
    if (f.key == "op") {
      o.op = identifier(f, "optimizer");
      o.op_loc = f.value_loc;
    } else if (f.key == "lr") {
      o.lr = number(f, 0.0);
    } else if (f.key == "clip_grad_norm") {
      o.clip_grad_norm = number(f, 0.0);
    } else if (f.key == "schedule") {
      o.schedule = parse_schedule(f);
    } else {
      o.attrs.insert_or_assign(f.key, parse_attr(f));  // typed by the optimizer op's schema
    }
  }

  ScheduleDef parse_schedule(const Entry& e) {
    need_kind(e, yaml::Kind::map, "a mapping");
    ScheduleDef s;
    s.loc = e.key_loc;
    for (const Entry& f : entries(e.value, kScheduleKeys, "in the schedule")) schedule_key(s, f);
    return s;
  }

  void schedule_key(ScheduleDef& s, const Entry& f) {
    if (f.key == "kind") {
      s.kind = scalar(f, "constant, step or cosine");
      if (s.kind != "constant" && s.kind != "step" && s.kind != "cosine")
        fail("schedule kind '" + display_text(s.kind) + "' is not one of: constant, step, cosine",
             f.value_loc);
    } else if (f.key == "warmup") {
      s.warmup = integer(f, 0);
    } else if (f.key == "every") {
      s.every = integer(f, 1);
    } else if (f.key == "gamma") {
      s.gamma = number(f, 0.0);
    } else {
      s.min_lr = number(f, 0.0);
    }
  }

  CheckpointDef parse_checkpoint(const Entry& e) {
    need_kind(e, yaml::Kind::map, "a mapping");
    CheckpointDef c;
    c.loc = e.key_loc;
    for (const Entry& f : entries(e.value, kCheckpointKeys, "in train.checkpoint")) checkpoint_key(c, f);
    if (c.path.empty()) fail("train.checkpoint needs 'path:'", e.key_loc);
    return c;
  }

  void checkpoint_key(CheckpointDef& c, const Entry& f) {
    if (f.key == "path")
      c.path = scalar(f, "a file name"), c.path_loc = f.value_loc;
    else if (f.key == "encrypt")
      parse_checkpoint_encrypt(f, c);
    else if (f.value.is_scalar() && f.value.scalar() == "epoch")
      c.every = 0;
    else
      c.every = integer(f, 1);
  }

  // encrypt: {key_file: K} (relative to the graph file) or {passphrase_env: VAR}.
  void parse_checkpoint_encrypt(const Entry& e, CheckpointDef& c) {
    need_kind(e, yaml::Kind::map, "a mapping {key_file: FILE} or {passphrase_env: VAR}");
    c.encrypt_loc = e.key_loc;
    for (const Entry& f : entries(e.value, {"key_file", "passphrase_env"}, "in train.checkpoint.encrypt")) {
      const std::string v = scalar(f, f.key == "key_file" ? "a file name" : "an environment variable name");
      if (v.empty()) fail("'" + f.key + "' must not be empty", f.value_loc);
      if (f.key == "key_file") {
        const std::filesystem::path p(v);
        c.encrypt.key_file =
            p.is_absolute() ? v : (std::filesystem::path(file_).parent_path() / p).lexically_normal().string();
      } else {
        c.encrypt.passphrase_env = v;
      }
    }
    if (c.encrypt.key_file.empty() == c.encrypt.passphrase_env.empty())
      fail("train.checkpoint.encrypt needs exactly one of 'key_file:' and 'passphrase_env:'", e.key_loc);
  }

  AttrLiteral parse_attr(const Entry& a) {
    AttrLiteral lit;
    lit.loc = a.value_loc;
    lit.name_loc = a.key_loc;
    auto bad = [&](const yaml::Node& v, Loc l) {
      fail("attribute '" + display_text(a.key) + "' must be a scalar or a list of scalars, not " +
               kind_name(v),
           l);
    };
    if (a.value.is_scalar()) {
      lit.items.emplace_back(a.value.scalar());
      lit.item_locs.push_back(lit.loc);
      lit.item_quoted.push_back(is_quoted(a.value));
      lit.quoted = lit.item_quoted[0];
      return lit;
    }
    if (!a.value.is_sequence()) bad(a.value, lit.loc);
    lit.is_list = true;
    for (std::size_t i = 0; i < a.value.size(); ++i) {
      visit();
      const yaml::Node item = a.value.item(i);
      Loc l = loc(item, lit.loc);
      if (!item.is_scalar()) bad(item, l);
      lit.items.emplace_back(item.scalar());
      lit.item_locs.push_back(l);
      lit.item_quoted.push_back(is_quoted(item));
    }
    return lit;
  }

  std::string file_;
  std::size_t visited_ = 0;
  std::unordered_map<std::string, std::pair<Loc, const char*>> names_;
};

}  // namespace

GraphDef parse_graph_text(const std::string& text, const std::string& file) {
  if (text.size() > kMaxFileBytes)
    throw usage_error("the graph file is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB",
                      SourceLoc{file, 0, 0});
  return GraphParser(file).parse(text);
}

void apply_train_setting(TrainDef& train, const std::string& path, const std::string& value) {
  const std::string what = "--set train." + path + "=" + value;
  try {
    GraphParser(what).apply_train_setting(train, path, value);
  } catch (const Error& e) {
    // The position within a one-line VALUE adds nothing to the key and value.
    throw usage_error(printable(what, 200) + ": " + e.message());
  }
}

GraphDef parse_graph_file(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw usage_error("cannot read the graph file: it is a folder", SourceLoc{file, 0, 0});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error("cannot open the graph file", SourceLoc{file, 0, 0});
  // Read in chunks and stop one byte past the cap, so a huge (or endless)
  // file is refused without being loaded.
  std::string text;
  // Sized once when the size is known: growing by doubling copies the text
  // and touches twice the memory.
  if (const auto size = std::filesystem::file_size(path, ec); !ec) text.reserve(std::min(size, kMaxFileBytes + 1));
  char chunk[1 << 16];
  while (text.size() <= kMaxFileBytes && in.read(chunk, sizeof chunk).gcount() > 0)
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
  if (in.bad()) throw usage_error("cannot read the graph file", SourceLoc{file, 0, 0});
  return parse_graph_text(text, file);
}

}  // namespace keel
