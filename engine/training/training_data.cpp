#include "training/training_data.hpp"

#include <algorithm>
#include <cstdio>

#include "base/error.hpp"
#include "runtime/npy.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

bool is_integer(DType t) { return t == DType::i32 || t == DType::i64 || t == DType::u8; }

CsvHeader header_mode(const DataDef& data) {
  if (!data.header) return CsvHeader::detect;
  return *data.header ? CsvHeader::present : CsvHeader::absent;
}

std::vector<ColumnBinding> csv_bindings(const ValidatedGraph& graph, const DataDef& data,
                                        const LabelRange& labels) {
  const auto& decls = graph.def.inputs;
  std::vector<ColumnBinding> bindings;
  for (const auto& c : data.columns) {
    auto it = std::find_if(decls.begin(), decls.end(), [&](const InputDef& d) { return d.name == c.input; });
    if (it == decls.end())
      throw usage_error("columns: the graph has no input '" + c.input + "'", graph.loc(c.loc));
    const std::size_t rank = it->shape.size();
    if (c.single ? rank != 1 : rank != 2)
      throw usage_error("columns: input '" + c.input + "' has rank " + std::to_string(rank) + "; " +
                            (c.single ? "a single column feeds a [batch] input"
                                      : "a column range feeds a [batch, columns] input"),
                        graph.loc(c.loc));
    if (!c.single && c.first_name.empty() && it->shape[1].size >= 0 && it->shape[1].size != c.count)
      throw usage_error("columns: input '" + c.input + "' has " + std::to_string(it->shape[1].size) +
                            " features but the range has " + std::to_string(c.count) + " columns",
                        graph.loc(c.loc));
    ColumnBinding b{c.input, it->dtype, c.first, c.count, c.single};
    b.first_name = c.first_name;
    b.last_name = c.last_name;
    b.where = graph.loc(c.loc);
    if (c.input == labels.input) {
      b.classes = labels.classes;
      b.loss_node = labels.node;
    }
    bindings.push_back(std::move(b));
  }
  return bindings;
}

template <class T>
void check_label_values(const Tensor& t, const LabelRange& labels, const std::string& file) {
  const T* v = t.as<T>();
  for (std::int64_t r = 0; r < t.numel(); ++r)
    if (std::int64_t(v[r]) < 0 || std::int64_t(v[r]) >= labels.classes)
      throw usage_error("row " + std::to_string(r) + ": label " + std::to_string(std::int64_t(v[r])) +
                            " is outside the loss's class range 0.." + std::to_string(labels.classes - 1) +
                            " (node '" + labels.node + "')",
                        {file});
}

// .npy labels are checked once loaded: they carry no line numbers, so the
// message names the row.
void check_npy_labels(const Dataset& ds, const LabelRange& labels,
                      const std::vector<std::pair<std::string, fs::path>>& files) {
  const Tensor* t = ds.column(labels.input);
  if (!t || labels.classes == 0) return;
  std::string file;
  for (const auto& [name, path] : files)
    if (name == labels.input) file = path.string();
  switch (t->dtype()) {
    case DType::i32:
      check_label_values<std::int32_t>(*t, labels, file);
      break;
    case DType::i64:
      check_label_values<std::int64_t>(*t, labels, file);
      break;
    case DType::u8:
      check_label_values<std::uint8_t>(*t, labels, file);
      break;
    default:
      break;  // the dtype mismatch is bind()'s error
  }
}

Dataset load_source(const ValidatedGraph& graph, const std::vector<std::string>& csv,
                    const std::vector<std::pair<std::string, std::string>>& npy, const DataDef& data,
                    const LabelRange& labels) {
  const fs::path base = fs::path(graph.def.file).parent_path();
  if (!npy.empty()) {
    std::vector<std::pair<std::string, fs::path>> files;
    for (const auto& [input, file] : npy) files.emplace_back(input, base / file);
    Dataset ds = Dataset::from_npy(files);
    check_npy_labels(ds, labels, files);
    return ds;
  }
  std::vector<fs::path> files;
  for (const auto& f : csv) files.push_back(base / f);
  return Dataset::from_csv(files, csv_bindings(graph, data, labels), header_mode(data));
}

}  // namespace

LabelRange label_range(const Plan& plan, int loss_slot) {
  const ValidatedGraph& g = plan.graph();
  const auto graph_inputs = int(g.def.inputs.size());
  for (const auto& n : plan.nodes()) {
    if (std::find(n.outputs.begin(), n.outputs.end(), loss_slot) == n.outputs.end()) continue;
    // Only a loss that declares accuracy takes class labels (keel/schema.hpp).
    const OpSchema& schema = g.nodes[std::size_t(n.node)].entry->schema;
    if (schema.role != Role::loss || schema.metric != Metric::accuracy) return {};
    LabelRange r;
    std::int64_t classes = 0;
    for (int s : n.inputs) {
      const TensorSpec& spec = plan.values()[std::size_t(s)];
      if (s < graph_inputs && is_integer(spec.dtype) && spec.shape.size() == 1)
        r.input = g.def.inputs[std::size_t(s)].name;
      else if (!is_integer(spec.dtype) && spec.shape.size() == 2 && is_static(spec.shape[1]))
        classes = spec.shape[1];
    }
    if (r.input.empty() || classes <= 0) return {};
    r.classes = classes;
    r.node = g.def.nodes[std::size_t(n.node)].name;
    return r;
  }
  return {};
}

bool uses_batch_statistics(const ValidatedGraph& graph) {
  return std::any_of(graph.nodes.begin(), graph.nodes.end(),
                     [](const ValidatedNode& n) { return n.entry->schema.batch_statistics; });
}

std::int64_t batches_per_epoch(std::size_t rows, std::int64_t batch, std::optional<bool> drop_last,
                               bool batch_statistics) {
  const auto b = std::size_t(batch);
  const std::size_t last = rows % b;
  const bool drop = last != 0 && (drop_last ? *drop_last : batch_statistics && last == 1);
  return std::int64_t(rows / b + (last != 0 && !drop ? 1 : 0));
}

namespace {

std::string fraction_text(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", f);
  return buf;
}

}  // namespace

TrainingData load_training_data(const Plan& plan, const DataDef& data, int loss_slot) {
  const ValidatedGraph& graph = plan.graph();
  const LabelRange labels = label_range(plan, loss_slot);
  TrainingData td;
  td.data = load_source(graph, data.csv, data.npy, data, labels);
  if (data.holdout_source) {
    td.separate = load_source(graph, data.holdout_source->csv, data.holdout_source->npy, data, labels);
    for (std::size_t r = 0; r < td.data.rows(); ++r) td.split.train.push_back(r);
    for (std::size_t r = 0; r < td.separate->rows(); ++r) td.split.holdout.push_back(r);
  } else {
    td.split = split_rows(td.data.rows(), data.holdout, graph.def.seed);
  }
  if (td.split.train.empty()) throw usage_error("the training split is empty", graph.loc(data.loc));
  td.batches_per_epoch =
      batches_per_epoch(td.split.train.size(), data.batch, data.drop_last, uses_batch_statistics(graph));
  if (td.batches_per_epoch == 0)
    throw usage_error("the training split has " + std::to_string(td.split.train.size()) +
                          " rows, less than one batch of " + std::to_string(data.batch) +
                          ", and drop_last drops it",
                      graph.loc(data.loc));
  // A batch norm cannot normalize one row: found now, not at that batch.
  const std::size_t last = td.split.train.size() % std::size_t(data.batch);
  const bool one_row_batch =
      data.batch == 1 || td.split.train.size() == 1 ||
      (last == 1 && std::int64_t(td.split.train.size() / std::size_t(data.batch)) < td.batches_per_epoch);
  if (one_row_batch && uses_batch_statistics(graph))
    throw usage_error(
        "a training batch would hold a single row, which a batch-statistics op (batchnorm) cannot "
        "normalize: use a batch of at least 2" +
            std::string(data.batch > 1 ? " or drop_last: true" : ""),
        graph.loc(data.loc));
  if (data.holdout > 0 && !data.holdout_source && td.split.holdout.empty())
    throw usage_error("holdout " + fraction_text(data.holdout) + " of " + std::to_string(td.data.rows()) +
                          " rows rounds to no row: hold out a larger fraction, or none",
                      graph.loc(data.loc));
  return td;
}

bool filled_by_calibration(const ValidatedGraph& graph, const std::string& name) {
  if (!graph.def.train) return false;
  const auto dot = name.find('.');
  const std::string node = name.substr(0, dot), param = name.substr(dot + 1);
  const auto& calibrated = graph.def.train->calibrate;
  if (std::find(calibrated.begin(), calibrated.end(), node) == calibrated.end()) return false;
  // What the node's op declares (ParamSpec::statistic), not its names.
  for (std::size_t i = 0; i < graph.def.nodes.size(); ++i) {
    if (graph.def.nodes[i].name != node) continue;
    for (const ParamSpec& spec : graph.nodes[i].entry->schema.params)
      if (spec.name == param) return spec.statistic != Statistic::none;
  }
  return false;
}

std::vector<Tensor> batch_inputs(const ValidatedGraph& graph, const Dataset& data,
                                 const std::vector<std::size_t>& rows, const Loc& where) {
  std::vector<Tensor> by_data = data.gather(rows);
  std::vector<Tensor> out;
  for (const auto& in : graph.def.inputs) {
    const auto& names = data.inputs();
    auto it = std::find(names.begin(), names.end(), in.name);
    if (it == names.end())
      throw usage_error("train data does not provide graph input '" + in.name + "'", graph.loc(where));
    out.push_back(by_data[std::size_t(it - names.begin())]);
  }
  return out;
}

void write_holdout_rows(const fs::path& file, const std::vector<std::size_t>& rows) {
  Tensor t(DType::i64, {static_cast<Dim>(rows.size())});
  std::int64_t* p = t.as<std::int64_t>();
  for (std::size_t i = 0; i < rows.size(); ++i) p[i] = std::int64_t(rows[i]);
  write_npy(file, t);
}

}  // namespace keel
