#include "cli/session.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "base/error.hpp"
#include "base/input_check.hpp"
#include "base/log_prefix.hpp"
#include "base/suggest.hpp"
#include "graph/format_keys.hpp"
#include "graph/parse.hpp"
#include "graph/train_def.hpp"
#include "planner/init.hpp"
#include "registry/loader.hpp"
#include "runtime/allocator_tuning.hpp"
#include "trust/policy.hpp"

namespace keel::cli {

void install_trust_policy(const Common& common) {
  if (!common.require_signed && !trust::require_signed_from_env()) return;
  const std::filesystem::path dir = trust::trust_dir(common.trust);
  set_input_check(std::make_shared<trust::RequireSigned>(trust::read_trusted_keys(dir), dir));
}

namespace {

// Printed as they are found, before the library they warn about runs any
// of its code.
WarningSink warning_printer(const Common& common) {
  return [quiet = common.quiet](const std::string& w) {
    if (!quiet) std::fprintf(stderr, "%s: warning: %s\n", log_prefix().c_str(), w.c_str());
  };
}

// The bundled plugin that holds Keel's codecs (plugins/encrypt).
constexpr const char* kCodecPluginFile = "keel_encrypt.so";

}  // namespace

Registry load_registry(const Common& common, std::vector<Error>* failures) {
  // Before the first plugin: under the policy, every file read from here on
  // is checked.
  install_trust_policy(common);
  const WarningSink print = warning_printer(common);
  Registry registry;
  load_plugins(registry, plugin_search_path(common.plugin_paths, print), failures, print);
  return registry;
}

Registry load_codec_registry(const Common& common, const std::function<bool(const Registry&)>& enough) {
  install_trust_policy(common);
  const WarningSink print = warning_printer(common);
  const std::vector<std::filesystem::path> dirs = plugin_search_path(common.plugin_paths, print);
  Registry codecs;
  bool taken = false;
  load_plugins(codecs, dirs, nullptr, print, [&](const std::filesystem::path& file) {
    if (taken || file.filename() != kCodecPluginFile) return false;
    return taken = true;
  });
  if (enough(codecs)) return codecs;
  // The warnings were given above; the libraries loaded there stay loaded
  // (the dynamic linker counts references), so nothing is loaded twice.
  Registry all;
  load_plugins(all, dirs, nullptr, {});
  return all;
}

namespace {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

AttrLiteral literal_from_text(const std::string& text) {
  AttrLiteral lit;
  std::string t = trim(text);
  if (t.size() >= 2 && t.front() == '[' && t.back() == ']') {
    lit.is_list = true;
    std::string body = t.substr(1, t.size() - 2);
    std::size_t start = 0;
    while (!trim(body).empty()) {
      auto comma = body.find(',', start);
      lit.items.push_back(trim(body.substr(start, comma - start)));
      lit.item_locs.push_back({});
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    lit.items.push_back(t);
    lit.item_locs.push_back({});
  }
  return lit;
}

std::int64_t non_negative(const std::string& key, const std::string& value) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < 0)
    throw usage_error("--set " + key + "=" + value + ": expected a non-negative integer");
  return v;
}

}  // namespace

void apply_overrides(GraphDef& def, const std::vector<std::string>& overrides) {
  bool zero_steps = false;  // an explicit train.steps=0: train nothing, whatever the epochs
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw usage_error("--set '" + o + "': expected KEY=VALUE (seed=N, NODE.ATTR=VALUE or train.KEY=VALUE)");
    const std::string key = o.substr(0, eq), value = o.substr(eq + 1);
    if (key == "seed") {
      def.seed = std::uint64_t(non_negative(key, value));
      continue;
    }
    if (key.rfind("train.", 0) == 0) {
      if (!def.train)
        throw usage_error("--set " + key + ": the graph has no train: section", {def.file, 0, 0});
      const std::string field = key.substr(6);
      // train.checkpoint.key_file and .passphrase_env: a key of the file's
      // checkpoint.encrypt given alone. As any command-line path, a key file
      // here is relative to the current folder.
      if (field.rfind("checkpoint.", 0) == 0 && format::encrypt_keys().find(field.substr(11))) {
        if (def.train->checkpoint.path.empty())
          throw usage_error("--set " + key + ": the graph's train: section has no checkpoint: path",
                            {def.file, 0, 0});
        if (value.empty()) throw usage_error("--set " + key + "=: expected a value");
        def.train->checkpoint.encrypt =
            field == "checkpoint.key_file" ? KeySource{value, ""} : KeySource{"", value};
        continue;
      }
      // train.steps=0 trains nothing and writes the initial checkpoint (the
      // file's steps: must be at least 1); train.batch is the older name of
      // train.data.batch.
      if (field == "steps" && value == "0") {
        def.train->steps = 0;
        zero_steps = true;
        continue;
      }
      if (field == "batch") {
        def.train->data.batch = non_negative(key, value);
        if (def.train->data.batch < 1)
          throw usage_error("--set train.batch=" + value + ": expected a positive integer");
        continue;
      }
      apply_train_setting(*def.train, field, value);
      if (field == "steps") zero_steps = false;
      continue;
    }
    const auto dot = key.find('.');
    if (dot == std::string::npos)
      throw usage_error("--set '" + o + "': unknown key '" + key +
                        "' (expected seed, NODE.ATTR or train.KEY)");
    const std::string node = key.substr(0, dot), attr = key.substr(dot + 1);
    auto it =
        std::find_if(def.nodes.begin(), def.nodes.end(), [&](const NodeDef& n) { return n.name == node; });
    if (it == def.nodes.end()) {
      std::vector<std::string> names;
      for (const auto& n : def.nodes) names.push_back(n.name);
      throw usage_error("--set '" + o + "': no node named '" + node + "'" + did_you_mean(node, names),
                        {def.file, 0, 0});
    }
    AttrLiteral lit = literal_from_text(value);
    lit.loc = it->loc;
    lit.name_loc = it->loc;
    it->attrs[attr] = std::move(lit);
  }
  if (zero_steps) def.train->epochs = 0;
}

ValidatedGraph load_graph(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                          const Registry& registry, const Common& common) {
  // Reading, validating and planning a graph fills about 20 bytes of fresh
  // heap per byte of YAML (a 5 MB file of 100,000 nodes: 100 MB): a graph
  // of a megabyte or more gets that heap at once, with room to spare, in
  // huge pages (runtime/allocator_tuning.hpp).
  std::error_code size_error;
  const std::uintmax_t size = std::filesystem::file_size(file, size_error);
  if (!size_error)
    reserve_huge_page_heap(static_cast<std::size_t>(std::min<std::uintmax_t>(size, 1u << 30)) * 32);
  GraphDef def = parse_graph_file(file);
  apply_overrides(def, overrides);
  ValidatedGraph graph = validate_graph(std::move(def), registry);
  check_node_inits(graph);  // needs the ops' parameter lists, so after validation
  if (!common.quiet)
    for (const auto& w : graph.warnings)
      std::fprintf(stderr, "%s: warning: %s\n", log_prefix().c_str(), w.format().c_str());
  return graph;
}

}  // namespace keel::cli
