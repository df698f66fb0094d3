#include "graph/parse_train.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "base/error.hpp"
#include "graph/parse.hpp"

namespace keel {
namespace {

using format::Mapping;

std::string join(const std::vector<std::string_view>& items) {
  std::string out;
  for (std::string_view s : items) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

class TrainParser {
 public:
  explicit TrainParser(ParseContext& cx) : cx_(cx) {}

  std::shared_ptr<TrainDef> parse(const Entry& e) {
    cx_.need_kind(e, yaml::Kind::map, "a mapping");
    auto t = std::make_shared<TrainDef>();
    t->loc = e.key_loc;
    bool has_loss = false, has_data = false;
    std::optional<Loc> optimizer_at;
    for (const Entry& f : cx_.entries(e.value, format::train_keys())) {
      train_key(*t, f);
      has_loss |= f.key == "loss";
      has_data |= f.key == "data";
      if (f.key == "optimizer") optimizer_at = f.key_loc;
    }
    if (!t->phases.empty()) {
      // Each phase names its own; a shared one would leave unclear which applies.
      if (has_loss) fail("train: give either 'loss:' or 'phases:' (each phase names its loss)", e.key_loc);
      if (optimizer_at)
        fail("train.optimizer: with 'phases:', each phase has its own 'optimizer:'", *optimizer_at);
    } else if (!has_loss) {
      fail("the train: section needs 'loss:' (the node whose output is minimized) or 'phases:'", e.key_loc);
    }
    if (!has_data) fail("the train: section needs 'data:'", e.key_loc);
    return t;
  }

  // One `--set train.PATH=VALUE`: VALUE is read as YAML and checked exactly
  // as the same key in the file would be. PATH's last part is a key of one
  // of the settable mappings (format::settable_mappings), whose path is the
  // rest.
  void apply_setting(TrainDef& t, const std::string& path, const std::string& value) {
    const yaml::Tree tree(value, cx_.file());
    if (!tree.has_root()) fail("expected a value", {1, 1});
    if (path.rfind("phases.", 0) == 0) return apply_phase_setting(t, path.substr(7), tree.root());
    const auto dot = path.rfind('.');
    const std::string where = dot == std::string::npos ? "" : path.substr(0, dot);
    const std::string key = dot == std::string::npos ? path : path.substr(dot + 1);
    const Mapping* table = nullptr;
    std::string keys;
    for (const auto& [p, m] : format::settable_mappings()) {
      if (p == where) table = m;
      keys += std::string(keys.empty() ? "" : ", ") + "train." + (p.empty() ? "" : p + ".") + "KEY";
    }
    if (!table) {
      known(path.substr(0, path.find('.')), format::train_keys());
      fail("'" + display_text(path) + "' is not a training key (keys: " + keys + ")", {1, 1});
    }
    known(key, *table);
    const yaml::Node root = tree.root();
    const Entry entry{key, root, {1, 1}, ParseContext::loc(root, {1, 1})};
    if (table == &format::train_keys()) {
      train_key(t, entry);
    } else if (table == &format::data_keys()) {
      // A source given on the command line replaces the file's, of either kind.
      if (key == "csv") t.data.npy.clear();
      if (key == "npy") t.data.csv.clear();
      data_key(t.data, entry);
      check_data(t.data, t.data.loc);
    } else if (table == &format::optimizer_keys()) {
      optimizer_key(t.optimizer, entry);
    } else if (table == &format::schedule_keys()) {
      schedule_key(t.optimizer.schedule, entry);
    } else if (table == &format::checkpoint_keys()) {
      checkpoint_key(t.checkpoint, entry);
      if (t.checkpoint.path.empty()) fail("train.checkpoint needs 'path:'", {1, 1});
    } else if (table == &format::distributed_keys()) {
      t.sync_batchnorm = cx_.flag(entry);
    } else {
      fail("'" + display_text(path) + "' cannot be set yet", {1, 1});  // a settable table without a setter
    }
  }

 private:
  [[noreturn]] void fail(const std::string& message, Loc l) const { cx_.fail(message, l); }

  // `--set train.phases.NAME.KEY=VALUE`, KEY a key of the phase, of its
  // optimizer (optimizer.lr) or of its schedule (optimizer.schedule.kind).
  void apply_phase_setting(TrainDef& t, const std::string& path, const yaml::Node& root) {
    const auto dot = path.find('.');
    const std::string name = path.substr(0, dot);
    auto it =
        std::find_if(t.phases.begin(), t.phases.end(), [&](const PhaseDef& p) { return p.name == name; });
    if (it == t.phases.end()) {
      std::vector<std::string> names;
      for (const PhaseDef& p : t.phases) names.push_back(p.name);
      fail("no phase named '" + display_text(name) + "'" +
               (names.empty() ? std::string(" (this train: section has no phases)")
                              : unknown_key_hint(name, names)),
           {1, 1});
    }
    const std::string rest = dot == std::string::npos ? "" : path.substr(dot + 1);
    const auto last = rest.rfind('.');
    const std::string where = last == std::string::npos ? "" : rest.substr(0, last);
    const std::string key = last == std::string::npos ? rest : rest.substr(last + 1);
    const Entry entry{key, root, {1, 1}, ParseContext::loc(root, {1, 1})};
    if (where.empty()) {
      known(key, format::phase_keys());
      if (key == "name") fail("a phase's name cannot be set", {1, 1});
      phase_key(*it, entry);
    } else if (where == "optimizer") {
      known(key, format::optimizer_keys());
      optimizer_key(it->optimizer, entry);
    } else if (where == "optimizer.schedule") {
      known(key, format::schedule_keys());
      schedule_key(it->optimizer.schedule, entry);
    } else {
      fail("'phases." + display_text(path) +
               "' is not a phase key (keys: train.phases.NAME.KEY, train.phases.NAME.optimizer.KEY, "
               "train.phases.NAME.optimizer.schedule.KEY)",
           {1, 1});
    }
  }

  void known(const std::string& key, const Mapping& table) {
    if (!table.open && !table.find(key))
      fail("unknown key '" + display_text(key) + "' " + std::string(table.where) +
               unknown_key_hint(key, table.names()),
           {1, 1});
  }

  // One key of train: (known to be in format::train_keys()).
  void train_key(TrainDef& t, const Entry& f) {
    if (f.key == "loss") {
      t.loss = cx_.parse_ref(f.value, f.value_loc);
    } else if (f.key == "data") {
      t.data = parse_data(f);
    } else if (f.key == "epochs") {
      t.epochs = cx_.integer(f, format::train_keys());
    } else if (f.key == "steps") {
      t.steps = cx_.integer(f, format::train_keys());
    } else if (f.key == "optimizer") {
      t.optimizer = parse_optimizer(f);
    } else if (f.key == "phases") {
      t.phases = parse_phases(f);
    } else if (f.key == "checkpoint") {
      t.checkpoint = parse_checkpoint(f);
    } else if (f.key == "freeze") {
      t.freeze = cx_.name_list(f);
    } else if (f.key == "calibrate") {
      t.calibrate = cx_.name_list(f);
    } else if (f.key == "report") {
      t.report = cx_.flag(f);
    } else if (f.key == "samples") {
      t.samples = parse_samples(f);
    } else if (f.key == "distributed") {
      cx_.need_kind(f, yaml::Kind::map, "a mapping {sync_batchnorm: true}");
      for (const Entry& g : cx_.entries(f.value, format::distributed_keys())) t.sync_batchnorm = cx_.flag(g);
    } else {
      t.metrics = cx_.scalar(f, "a file name");
      t.metrics_loc = f.value_loc;
    }
  }

  SamplesDef parse_samples(const Entry& e) {
    cx_.need_kind(e, yaml::Kind::map, "a mapping {graph: FILE}");
    SamplesDef d;
    d.loc = e.key_loc;
    for (const Entry& f : cx_.entries(e.value, format::samples_keys())) {
      if (f.key == "every") {
        d.every = cx_.integer(f, format::samples_keys());
        continue;
      }
      const std::string v = cx_.scalar(f, "a file name");
      if (v.empty()) fail("'graph' must not be empty", f.value_loc);
      const std::filesystem::path p(v);
      d.graph = p.is_absolute()
                    ? v
                    : (std::filesystem::path(cx_.file()).parent_path() / p).lexically_normal().string();
    }
    if (d.graph.empty()) fail("train.samples needs 'graph:'", e.key_loc);
    return d;
  }

  std::vector<PhaseDef> parse_phases(const Entry& e) {
    cx_.need_kind(e, yaml::Kind::sequence, "a list of phases");
    if (e.value.size() == 0) fail("train.phases is empty: give at least one phase", e.value_loc);
    std::vector<PhaseDef> out;
    for (std::size_t i = 0; i < e.value.size(); ++i) {
      cx_.visit();
      const yaml::Node item = e.value.item(i);
      const Loc at = ParseContext::loc(item, e.value_loc);
      if (!item.is_map()) fail(std::string("a phase must be a mapping, not ") + kind_name(item), at);
      PhaseDef p;
      p.loc = at;
      for (const Entry& f : cx_.entries(item, format::phase_keys())) phase_key(p, f);
      if (p.name.empty()) fail("a phase needs 'name:'", at);
      if (p.loss.name.empty()) fail("phase '" + p.name + "' needs 'loss:'", at);
      if (p.params.empty()) fail("phase '" + p.name + "' needs 'params:' (the parameters it updates)", at);
      for (const PhaseDef& q : out)
        if (q.name == p.name) fail("two phases are named '" + p.name + "'", p.name_loc);
      out.push_back(std::move(p));
    }
    return out;
  }

  void phase_key(PhaseDef& p, const Entry& f) {
    if (f.key == "name") {
      p.name = cx_.identifier(f, "phase");
      p.name_loc = f.value_loc;
    } else if (f.key == "loss") {
      p.loss = cx_.parse_ref(f.value, f.value_loc);
    } else if (f.key == "params") {
      p.params = patterns(f);
    } else if (f.key == "optimizer") {
      p.optimizer = parse_optimizer(f);
    } else {
      p.repeat = cx_.integer(f, format::phase_keys());
    }
  }

  // A name or a list of names, each with its position for "matches nothing".
  std::vector<ParamPattern> patterns(const Entry& f) {
    if (f.value.is_scalar()) return {{std::string(f.value.scalar()), f.value_loc}};
    cx_.need_kind(f, yaml::Kind::sequence, "a list of names");
    std::vector<ParamPattern> out;
    for (std::size_t i = 0; i < f.value.size(); ++i) {
      cx_.visit();
      const yaml::Node item = f.value.item(i);
      const Loc at = ParseContext::loc(item, f.value_loc);
      if (!item.is_scalar() || item.scalar().empty())
        fail("'" + f.key + "' must be a list of names or patterns", at);
      out.push_back({std::string(item.scalar()), at});
    }
    if (out.empty()) fail("'" + f.key + "' is empty", f.value_loc);
    return out;
  }

  DataDef parse_data(const Entry& e) {
    cx_.need_kind(e, yaml::Kind::map, "a mapping");
    DataDef d;
    d.loc = e.key_loc;
    for (const Entry& f : cx_.entries(e.value, format::data_keys())) data_key(d, f);
    check_data(d, e.key_loc);
    return d;
  }

  // One key of train.data (known to be in format::data_keys()).
  void data_key(DataDef& d, const Entry& f) {
    if (f.key == "csv") {
      d.csv = cx_.name_list(f);
    } else if (f.key == "npy") {
      d.npy = npy_files(f);
    } else if (f.key == "columns") {
      cx_.need_kind(f, yaml::Kind::map, "a mapping of input to columns");
      d.columns.clear();
      for (const Entry& g : cx_.any_entries(f.value)) d.columns.push_back(parse_columns(g));
    } else if (f.key == "header") {
      d.header = cx_.flag(f);
    } else if (f.key == "batch") {
      d.batch = cx_.integer(f, format::data_keys());
    } else if (f.key == "shuffle") {
      d.shuffle = cx_.flag(f);
    } else if (f.key == "drop_last") {
      d.drop_last = cx_.flag(f);
    } else if (f.value.is_map()) {
      d.holdout = 0;
      d.holdout_source = parse_source(f);
    } else {
      d.holdout = cx_.number(f, format::data_keys());
      d.holdout_source.reset();
    }
  }

  std::vector<std::pair<std::string, std::string>> npy_files(const Entry& f) {
    cx_.need_kind(f, yaml::Kind::map, "a mapping of input to file");
    std::vector<std::pair<std::string, std::string>> out;
    for (const Entry& g : cx_.any_entries(f.value)) out.emplace_back(g.key, cx_.scalar(g, "a file name"));
    return out;
  }

  // holdout: {csv: [...]} or {npy: {...}}: rows read like the training data's.
  DataSourceDef parse_source(const Entry& e) {
    DataSourceDef src;
    src.loc = e.key_loc;
    for (const Entry& f : cx_.entries(e.value, format::source_keys())) {
      if (f.key == "csv")
        src.csv = cx_.name_list(f);
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
    const std::string s = cx_.scalar(g, "a column number, a range 'first:end', or column names");
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
    cx_.need_kind(e, yaml::Kind::map, "a mapping");
    OptimizerDef o;
    o.loc = o.op_loc = e.key_loc;
    for (const Entry& f : cx_.entries(e.value, format::optimizer_keys())) optimizer_key(o, f);
    return o;
  }

  void optimizer_key(OptimizerDef& o, const Entry& f) {
    if (f.key == "op") {
      o.op = cx_.identifier(f, "optimizer");
      o.op_loc = f.value_loc;
    } else if (f.key == "lr") {
      o.lr = cx_.number(f, format::optimizer_keys());
    } else if (f.key == "clip_grad_norm") {
      o.clip_grad_norm = cx_.number(f, format::optimizer_keys());
    } else if (f.key == "schedule") {
      o.schedule = parse_schedule(f);
    } else {
      o.attrs.insert_or_assign(f.key, cx_.parse_attr(f));  // typed by the optimizer op's schema
    }
  }

  ScheduleDef parse_schedule(const Entry& e) {
    cx_.need_kind(e, yaml::Kind::map, "a mapping");
    ScheduleDef s;
    s.loc = e.key_loc;
    for (const Entry& f : cx_.entries(e.value, format::schedule_keys())) schedule_key(s, f);
    return s;
  }

  void schedule_key(ScheduleDef& s, const Entry& f) {
    const Mapping& table = format::schedule_keys();
    if (f.key == "kind") {
      const auto& kinds = table.find("kind")->choices;
      s.kind = cx_.scalar(f, "constant, step or cosine");
      if (std::find(kinds.begin(), kinds.end(), s.kind) == kinds.end())
        fail("schedule kind '" + display_text(s.kind) + "' is not one of: " + join(kinds), f.value_loc);
    } else if (f.key == "warmup" || f.key == "every") {
      (f.key == "warmup" ? s.warmup : s.every) = cx_.integer(f, table);
    } else if (f.key == "spike_step") {
      s.spike_step = cx_.integer(f, table);
    } else if (f.key == "spike_factor") {
      s.spike_factor = cx_.number(f, table);
    } else {
      (f.key == "gamma" ? s.gamma : s.min_lr) = cx_.number(f, table);
    }
  }

  CheckpointDef parse_checkpoint(const Entry& e) {
    cx_.need_kind(e, yaml::Kind::map, "a mapping");
    CheckpointDef c;
    c.loc = e.key_loc;
    for (const Entry& f : cx_.entries(e.value, format::checkpoint_keys())) checkpoint_key(c, f);
    if (c.path.empty()) fail("train.checkpoint needs 'path:'", e.key_loc);
    return c;
  }

  void checkpoint_key(CheckpointDef& c, const Entry& f) {
    if (f.key == "path")
      c.path = cx_.scalar(f, "a file name"), c.path_loc = f.value_loc;
    else if (f.key == "encrypt")
      parse_encrypt(f, c);
    else if (f.key == "sign")
      parse_sign(f, c);
    else if (f.value.is_scalar() && f.value.scalar() == "epoch")
      c.every = 0;
    else
      c.every = cx_.integer(f, format::checkpoint_keys());
  }

  // sign: {secret_key: K (relative to the graph file), passphrase_env: VAR (optional)}.
  void parse_sign(const Entry& e, CheckpointDef& c) {
    cx_.need_kind(e, yaml::Kind::map, "a mapping {secret_key: FILE}");
    c.sign_loc = e.key_loc;
    for (const Entry& f : cx_.entries(e.value, format::sign_keys())) {
      const std::string v =
          cx_.scalar(f, f.key == "secret_key" ? "a file name" : "an environment variable name");
      if (v.empty()) fail("'" + f.key + "' must not be empty", f.value_loc);
      if (f.key == "secret_key")
        c.sign_key = relative_to_graph(v);
      else
        c.sign_passphrase_env = v;
    }
    if (c.sign_key.empty()) fail("train.checkpoint.sign needs 'secret_key:'", e.key_loc);
  }

  std::string relative_to_graph(const std::string& v) const {
    const std::filesystem::path p(v);
    return p.is_absolute()
               ? v
               : (std::filesystem::path(cx_.file()).parent_path() / p).lexically_normal().string();
  }

  // encrypt: {key_file: K} (relative to the graph file) or {passphrase_env: VAR}.
  void parse_encrypt(const Entry& e, CheckpointDef& c) {
    cx_.need_kind(e, yaml::Kind::map, "a mapping {key_file: FILE} or {passphrase_env: VAR}");
    c.encrypt_loc = e.key_loc;
    for (const Entry& f : cx_.entries(e.value, format::encrypt_keys())) {
      const std::string v =
          cx_.scalar(f, f.key == "key_file" ? "a file name" : "an environment variable name");
      if (v.empty()) fail("'" + f.key + "' must not be empty", f.value_loc);
      if (f.key == "key_file") {
        c.encrypt.key_file = relative_to_graph(v);
      } else {
        c.encrypt.passphrase_env = v;
      }
    }
    if (c.encrypt.key_file.empty() == c.encrypt.passphrase_env.empty())
      fail("train.checkpoint.encrypt needs exactly one of 'key_file:' and 'passphrase_env:'", e.key_loc);
  }

  ParseContext& cx_;
};

}  // namespace

std::shared_ptr<TrainDef> parse_train(ParseContext& cx, const Entry& e) { return TrainParser(cx).parse(e); }

void apply_train_setting(TrainDef& train, const std::string& path, const std::string& value) {
  const std::string what = "--set train." + path + "=" + value;
  try {
    ParseContext cx(what);
    TrainParser(cx).apply_setting(train, path, value);
  } catch (const Error& e) {
    // The position within a one-line VALUE adds nothing to the key and value.
    throw usage_error(printable(what, 200) + ": " + e.message());
  }
}

}  // namespace keel
