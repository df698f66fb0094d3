#include "graph/parse.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.hpp"
#include "base/input_check.hpp"
#include "graph/parse_context.hpp"
#include "graph/parse_train.hpp"

namespace keel {
namespace {

// Both caps keep a hostile file from costing more than a moment; the walk's
// element budget (aliases can make a small file a huge tree) is
// graph/parse_context.cpp's.
constexpr std::uintmax_t kMaxFileBytes = 16u << 20;
constexpr std::size_t kMaxReservedNodes = 1'000'000;

// "f32, f64, ...": the dtypes an input may have, for its error.
std::string dtype_names() {
  std::string out;
  for (std::string_view d : format::input_keys().find("dtype")->choices)
    out += (out.empty() ? "" : ", ") + std::string(d);
  return out;
}

class GraphParser {
 public:
  explicit GraphParser(std::string file) : cx_(std::move(file)) {}

  GraphDef parse(const std::string& text) {
    // One pass of yaml-cpp's parser; its syntax errors come out as ours.
    const yaml::Tree tree(text, cx_.file());
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
  [[noreturn]] void fail(const std::string& message, Loc l) const { cx_.fail(message, l); }
  static Loc loc(const yaml::Node& n, Loc fallback) { return ParseContext::loc(n, fallback); }

  // Node and input names share one namespace: a reference names either.
  void claim_name(const std::string& name, Loc l, const char* kind) {
    if (auto [pos, fresh] = names_.emplace(name, std::pair{l, kind}); !fresh)
      fail("duplicate name '" + name + "': already used by the " + pos->second.second + " at line " +
               std::to_string(pos->second.first.line),
           l);
  }

  std::vector<ValueRef> parse_refs(const Entry& e) {
    if (!e.value.is_sequence())
      fail("'" + display_text(e.key) + "' must be a sequence of references such as [x, h.y], not " +
               kind_name(e.value),
           e.value_loc);
    std::vector<ValueRef> refs;
    for (std::size_t i = 0; i < e.value.size(); ++i)
      refs.push_back(cx_.parse_ref(e.value.item(i), e.value_loc));
    return refs;
  }

  GraphDef parse_top(const yaml::Node& top) {
    GraphDef g;
    g.file = cx_.file();
    auto top_entries = cx_.entries(top, format::top_keys());
    const Loc top_loc = loc(top, {1, 1});

    // The version decides how to read everything else, so it goes first.
    auto version =
        std::find_if(top_entries.begin(), top_entries.end(), [](const Entry& e) { return e.key == "keel"; });
    if (version == top_entries.end())
      fail("missing 'keel:' (the graph format version; this keel reads " +
               std::to_string(kGraphFormatVersion) + ")",
           top_loc);
    auto v = version->value.is_scalar() && !version->value.quoted() ? parse_decimal(version->value.scalar())
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
    const Entry* images = nullptr;  // read last: it names outputs, which may come after it
    for (const Entry& e : top_entries) {
      if (e.key == "name") {
        g.name = cx_.scalar(e, "a string");
      } else if (e.key == "seed") {
        auto s = e.value.is_scalar() && !e.value.quoted() ? parse_decimal(e.value.scalar()) : std::nullopt;
        if (!s || *s < 0)
          fail("'seed:' must be a non-negative integer" +
                   (e.value.is_scalar() ? ", not '" + display_text(e.value.scalar()) + "'" : std::string()),
               e.value_loc);
        g.seed = static_cast<std::uint64_t>(*s);
      } else if (e.key == "inputs") {
        if (!e.value.is_null())
          cx_.need_kind(e, yaml::Kind::map, "a mapping of input names to {dtype, shape}");
        if (e.value.is_map()) parse_inputs(e.value, g);
      } else if (e.key == "nodes") {
        cx_.need_kind(e, yaml::Kind::sequence, "a sequence of nodes");
        if (e.value.size() == 0) fail("'nodes:' is empty: a graph needs at least one node", e.value_loc);
        // Sized once (growing copies every node), up to a bound: a hostile
        // file can list millions of items that are not nodes at all.
        const std::size_t expected = std::min<std::size_t>(e.value.size(), kMaxReservedNodes);
        g.nodes.reserve(expected);
        names_.reserve(names_.size() + expected);
        for (std::size_t i = 0; i < e.value.size(); ++i)
          g.nodes.push_back(parse_node(e.value.item(i), e.value_loc));
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
        g.train = parse_train(cx_, e);
      } else if (e.key == "images") {
        images = &e;
      }
    }
    if (!has_nodes) fail("missing 'nodes:' (the graph's operations)", top_loc);
    if (!has_outputs) fail("missing 'outputs:' (the values the graph produces)", top_loc);
    if (images) parse_images(*images, g);
    return g;
  }

  // images: output name -> {height, width, range, scale, columns}, each
  // entry naming one of `outputs:` as it is written there.
  void parse_images(const Entry& e, GraphDef& g) {
    if (e.value.is_null()) return;
    cx_.need_kind(e, yaml::Kind::map,
                  "a mapping of output names to picture settings such as {height: 8, width: 8}");
    std::vector<std::string> outputs;
    for (const ValueRef& r : g.outputs) outputs.push_back(r.text());
    const format::Mapping& table = format::image_keys();
    for (const Entry& o : cx_.any_entries(e.value)) {
      if (std::find(outputs.begin(), outputs.end(), o.key) == outputs.end()) {
        std::string hint = suggestion(o.key, outputs);
        if (hint.empty()) {
          hint = " (outputs:";
          for (std::size_t i = 0; i < outputs.size(); ++i) hint += (i ? ", " : " ") + outputs[i];
          hint += ")";
        }
        fail("images: '" + display_text(o.key) + "' names no output of the graph" + hint, o.key_loc);
      }
      ImageDef d;
      d.output = o.key;
      d.loc = o.key_loc;
      if (!o.value.is_null() && !o.value.is_map())
        fail("images: '" + d.output + "' must be a mapping such as {height: 8, width: 8}, not " +
                 kind_name(o.value),
             o.value_loc);
      if (o.value.is_map())
        for (const Entry& f : cx_.entries(o.value, table, "in images." + d.output)) {
          if (f.key == "height")
            d.height = cx_.integer(f, table);
          else if (f.key == "width")
            d.width = cx_.integer(f, table);
          else if (f.key == "scale")
            d.scale = cx_.integer(f, table);
          else if (f.key == "columns")
            d.columns = cx_.integer(f, table);
          else if (f.key == "range")
            parse_range(f, d);
        }
      if ((d.height > 0) != (d.width > 0))
        fail("images: '" + d.output + "' gives " + (d.height > 0 ? "height" : "width") + " without " +
                 (d.height > 0 ? "width" : "height") + ": give both, or neither for [N, H, W] outputs",
             d.loc);
      g.images.push_back(std::move(d));
    }
  }

  // range: [low, high], two finite numbers with low < high.
  void parse_range(const Entry& f, ImageDef& d) {
    const std::string what = "'range' must be [low, high], two finite numbers with low < high";
    if (!f.value.is_sequence() || f.value.size() != 2) fail(what, f.value_loc);
    double v[2];
    for (std::size_t i = 0; i < 2; ++i) {
      cx_.visit();
      const yaml::Node item = f.value.item(i);
      const Loc l = loc(item, f.value_loc);
      if (!item.is_scalar()) fail(what, l);
      const std::string_view s = item.scalar();
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v[i]);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v[i]))
        fail(what + ", not '" + display_text(s) + "'", l);
    }
    if (!(v[0] < v[1])) fail(what, f.value_loc);
    d.low = v[0];
    d.high = v[1];
  }

  void parse_inputs(const yaml::Node& map, GraphDef& g) {
    for (const Entry& e : cx_.any_entries(map)) {
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
      for (const Entry& f : cx_.entries(e.value, format::input_keys(), "in input '" + in.name + "'")) {
        if (f.key == "dtype") {
          std::string d = cx_.scalar(f, "a dtype name");
          auto t = dtype_from_name(d);
          if (!t) fail("unknown dtype '" + display_text(d) + "' (valid: " + dtype_names() + ")", f.value_loc);
          in.dtype = *t;
          has_dtype = true;
        } else {
          cx_.need_kind(f, yaml::Kind::sequence, "a sequence of dimensions such as [batch, 64]");
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
    cx_.visit();
    DimDef d;
    d.loc = loc(n, fallback);
    const std::string text = n.is_scalar() ? std::string(n.scalar()) : std::string(kind_name(n));
    if (n.is_scalar() && !n.quoted()) {
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
    cx_.visit();
    NodeDef node;
    node.loc = loc(n, fallback);
    if (!n.is_map())
      fail(std::string("a node must be a mapping {name: ..., op: ..., inputs: [...]}, not ") + kind_name(n),
           node.loc);
    bool has_name = false, has_op = false;
    node.inputs_loc = node.loc;
    auto fields = cx_.entries(n, format::node_keys());
    for (const Entry& e : fields) {
      if (e.key == "name") {
        node.name = cx_.identifier(e, "node");
        claim_name(node.name, e.value_loc, "node");
        has_name = true;
      } else if (e.key == "op") {
        node.op = cx_.scalar(e, "an op name");
        node.op_loc = e.value_loc;
        has_op = true;
      } else if (e.key == "inputs") {
        node.inputs_loc = e.value_loc;
        if (!e.value.is_null()) node.inputs = parse_refs(e);
      } else if (e.key == "attrs") {
        if (e.value.is_null()) continue;
        cx_.need_kind(e, yaml::Kind::map, "a mapping of attribute names to values");
        for (const Entry& a : cx_.any_entries(e.value)) node.attrs.emplace(a.key, cx_.parse_attr(a));
      } else if (e.key == "init") {
        if (e.value.is_null()) continue;
        cx_.need_kind(e, yaml::Kind::map,
                      "a mapping of parameter names to initializers such as {weight: zeros}");
        for (const Entry& a : cx_.any_entries(e.value)) node.init.emplace(a.key, parse_init(a));
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
    d.text =
        cx_.scalar(a, "an initializer such as zeros, normal(0.01), uniform(-0.1, 0.1), xavier or kaiming");
    const std::string& s = d.text;
    const auto open = s.find('(');
    d.kind = s.substr(0, open);
    while (!d.kind.empty() && d.kind.back() == ' ') d.kind.pop_back();
    const auto& all = format::initializers();
    const auto kind = std::find_if(all.begin(), all.end(), [&](const auto& i) { return i.name == d.kind; });
    if (kind == all.end()) {
      std::vector<std::string> names;
      for (const auto& i : all) names.emplace_back(i.name);
      std::string hint = suggestion(d.kind, names);
      if (hint.empty()) hint = " (known: " + format::initializer_list() + ")";
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
    const std::size_t want = kind->count;
    if (kind->needs_args && d.args.size() != want)
      bad("expected " + std::string(want == 1 ? "one value" : std::to_string(want) + " values") + ": " +
          d.kind + "(" + std::string(kind->args) + ")");
    if (!d.args.empty() && d.args.size() != want)
      bad(want == 0 ? "'" + d.kind + "' takes no arguments"
                    : "expected " + std::to_string(want) + (want == 1 ? " number" : " numbers"));
    if (d.kind == "normal" && !d.args.empty() && !(d.args[0] > 0))
      bad("the standard deviation must be positive");
    if (d.kind == "uniform" && !d.args.empty() && !(d.args[0] < d.args[1]))
      bad("the lower bound must be below the upper bound");
    return d;
  }

  ParseContext cx_;
  std::unordered_map<std::string, std::pair<Loc, const char*>> names_;
};

}  // namespace

GraphDef parse_graph_text(const std::string& text, const std::string& file) {
  if (text.size() > kMaxFileBytes)
    throw usage_error("the graph file is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB",
                      SourceLoc{file, 0, 0});
  return GraphParser(file).parse(text);
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
  if (const auto size = std::filesystem::file_size(path, ec); !ec)
    text.reserve(std::min(size, kMaxFileBytes + 1));
  char chunk[1 << 16];
  while (text.size() <= kMaxFileBytes && in.read(chunk, sizeof chunk).gcount() > 0)
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
  if (in.bad()) throw usage_error("cannot read the graph file", SourceLoc{file, 0, 0});
  // Checked before a byte is parsed; an oversized file is refused for its
  // size by parse_graph_text.
  if (const InputCheck* check = input_check(); check && text.size() <= kMaxFileBytes)
    check->check_bytes(text, path);
  return parse_graph_text(text, file);
}

}  // namespace keel
