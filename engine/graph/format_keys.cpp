#include "graph/format_keys.hpp"

#include <algorithm>

namespace keel::format {

// Each table is built on first use, so one table may point at another
// without depending on the order in which files initialize their statics.

const Key* Mapping::find(std::string_view name) const {
  auto it = std::find_if(keys.begin(), keys.end(), [&](const Key& k) { return k.name == name; });
  return it == keys.end() ? nullptr : &*it;
}

std::vector<std::string> Mapping::names() const {
  std::vector<std::string> out;
  for (const Key& k : keys) out.emplace_back(k.name);
  return out;
}

const Mapping& top_keys() {
  static const Mapping m{
      .path = "",
      .where = "at the top level",
      .keys = {
          {.name = "keel", .value = Value::custom, .doc = "graph format version", .required = true},
          {.name = "name", .value = Value::string, .doc = "the pipeline's name"},
          {.name = "seed", .value = Value::integer, .doc = "every random choice derives from it"},
          {.name = "inputs", .value = Value::custom, .doc = "graph input name -> {dtype, shape}"},
          {.name = "nodes", .value = Value::custom, .doc = "the graph's operations", .required = true},
          {.name = "outputs",
           .value = Value::custom,
           .doc = "the values the graph produces",
           .required = true},
          {.name = "images",
           .value = Value::custom,
           .doc = "output name -> picture settings: keel run also writes the output as DIR/NAME.png"},
          {.name = "train",
           .value = Value::mapping,
           .doc = "makes the graph a training pipeline",
           .table = &train_keys()},
      }};
  return m;
}

const Mapping& image_keys() {
  static const Mapping m{
      .path = "images.NAME",
      .where = "",  // the error names the output
      .keys = {
          {.name = "height",
           .value = Value::integer,
           .doc = "pixels of one image (with width); default: from an [N, H, W] shape",
           .min = 1},
          {.name = "width", .value = Value::integer, .doc = "pixels of one image (with height)", .min = 1},
          {.name = "range",
           .value = Value::custom,
           .doc = "[low, high]: the values drawn black and white (default [0, 1])"},
          {.name = "scale",
           .value = Value::integer,
           .doc = "each pixel becomes a scale x scale block (default 4)",
           .min = 1},
          {.name = "columns",
           .value = Value::integer,
           .doc = "images per row of the grid (default ceil(sqrt(N)))",
           .min = 1},
      }};
  return m;
}

const Mapping& input_keys() {
  static const Mapping m{.path = "inputs.NAME",
                         .where = "",  // the error names the input
                         .keys = {
                             {.name = "dtype",
                              .value = Value::choice,
                              .doc = "element type",
                              .required = true,
                              .choices = {"f32", "f64", "i32", "i64", "u8", "bool"}},
                             {.name = "shape",
                              .value = Value::custom,
                              .doc = "sizes, or names such as batch that bind when data arrives",
                              .required = true},
                         }};
  return m;
}

const Mapping& node_keys() {
  static const Mapping m{
      .path = "nodes[]",
      .where = "in a node",
      .keys = {
          {.name = "name",
           .value = Value::identifier,
           .doc = "the node's name, unique among nodes and inputs",
           .required = true},
          {.name = "op",
           .value = Value::custom,
           .doc = "an op registered by a plugin (keel plugins)",
           .required = true},
          {.name = "inputs",
           .value = Value::custom,
           .doc = "one value reference per input port of the op, in order"},
          {.name = "attrs", .value = Value::custom, .doc = "the op's attributes (keel plugins OP)"},
          {.name = "init",
           .value = Value::custom,
           .doc = "parameter name -> initializer, instead of the op's default"},
      }};
  return m;
}

const Mapping& train_keys() {
  static const Mapping m{
      .path = "train",
      .where = "in train",
      .keys =
          {
              {.name = "loss",
               .value = Value::reference,
               .doc = "the node whose output is minimized (or phases:)"},
              {.name = "data",
               .value = Value::mapping,
               .doc = "where the rows come from",
               .required = true,
               .table = &data_keys()},
              {.name = "epochs",
               .value = Value::integer,
               .doc = "passes over the training rows (default 1)",
               .min = 1},
              {.name = "steps",
               .value = Value::integer,
               .doc = "stop after this many steps instead",
               .min = 1},
              {.name = "optimizer",
               .value = Value::mapping,
               .doc = "the optimizer op, learning rate and schedule",
               .table = &optimizer_keys()},
              {.name = "phases",
               .value = Value::custom,
               .doc = "several objectives, each with its loss, parameters and optimizer, run in order on "
                      "each batch (instead of loss: and optimizer:)"},
              {.name = "checkpoint",
               .value = Value::mapping,
               .doc = "where and how often parameters are saved",
               .table = &checkpoint_keys()},
              {.name = "freeze",
               .value = Value::names,
               .doc = "node or parameter names that are not trained"},
              {.name = "calibrate",
               .value = Value::names,
               .doc = "nodes and guards whose statistics are measured on the training rows"},
              {.name = "metrics",
               .value = Value::string,
               .doc = "JSON lines, one per epoch, relative to the output folder (default metrics.jsonl)"},
              {.name = "report",
               .value = Value::boolean,
               .doc = "write DIR/report.html at the end (default true)"},
              {.name = "samples",
               .value = Value::mapping,
               .doc =
                   "a sampling graph drawn as DIR/samples/epoch-NNN.png with the parameters trained so far",
               .table = &samples_keys()},
              {.name = "distributed",
               .value = Value::mapping,
               .doc = "data-parallel training under mpirun (docs/distributed.md)",
               .table = &distributed_keys()},
          },
      .settable = true};
  return m;
}

const Mapping& distributed_keys() {
  static const Mapping m{
      .path = "train.distributed",
      .where = "in train.distributed",
      .keys =
          {
              {.name = "sync_batchnorm",
               .value = Value::boolean,
               .doc = "every batch normalization uses the global batch's statistics, summed "
                      "across ranks (default false: each rank's own)"},
          },
      .settable = true};
  return m;
}

const Mapping& samples_keys() {
  static const Mapping m{.path = "train.samples",
                         .where = "in train.samples",
                         .keys = {
                             {.name = "graph",
                              .value = Value::string,
                              .doc = "a graph without inputs, with an images: entry, relative to this file",
                              .required = true,
                              .min = 1},
                             {.name = "every",
                              .value = Value::integer,
                              .doc = "epochs between grids (default 1; the last epoch always has one)",
                              .min = 1},
                         }};
  return m;
}

const Mapping& phase_keys() {
  static const Mapping m{
      .path = "train.phases[]",
      .where = "in a phase",
      .keys = {
          {.name = "name",
           .value = Value::identifier,
           .doc = "the phase's name in metrics and messages",
           .required = true},
          {.name = "loss",
           .value = Value::reference,
           .doc = "the node whose output it minimizes",
           .required = true},
          {.name = "params",
           .value = Value::names,
           .doc = "what it updates: node names, parameter names (fc1.weight) or glob patterns (g_*)",
           .required = true},
          {.name = "optimizer",
           .value = Value::mapping,
           .doc = "its optimizer op, learning rate and schedule",
           .table = &optimizer_keys()},
          {.name = "repeat",
           .value = Value::integer,
           .doc = "times it runs on each batch (default 1)",
           .min = 1},
      }};
  return m;
}

const Mapping& data_keys() {
  static const Mapping m{
      .path = "train.data",
      .where = "in train.data",
      .keys =
          {
              {.name = "csv",
               .value = Value::names,
               .doc = "CSV files side by side, relative to the graph file"},
              {.name = "npy",
               .value = Value::file_map,
               .doc = "graph input -> .npy file, relative to the graph file"},
              {.name = "columns", .value = Value::custom, .doc = "graph input -> CSV columns"},
              {.name = "header",
               .value = Value::boolean,
               .doc = "the first CSV line names the columns; default: detected"},
              {.name = "batch", .value = Value::integer, .doc = "rows per step (default 32)", .min = 1},
              {.name = "shuffle",
               .value = Value::boolean,
               .doc = "a new seeded order every epoch (default true)"},
              {.name = "drop_last",
               .value = Value::boolean,
               .doc =
                   "drop a last partial batch; default: only a last batch of one row, when the graph has a "
                   "batchnorm"},
              {.name = "holdout",
               .value = Value::custom,
               .doc = "fraction of rows held out (default 0), or a separate source {csv: ...} or {npy: ...}",
               .below = 1},
          },
      .settable = true};
  return m;
}

const Mapping& source_keys() {
  static const Mapping m{
      .path = "train.data.holdout",
      .where = "in train.data.holdout",
      .keys =
          {
              {.name = "csv", .value = Value::names, .doc = "CSV files, read like the training data"},
              {.name = "npy", .value = Value::file_map, .doc = "graph input -> .npy file"},
          },
      .exactly_one = true};
  return m;
}

const Mapping& optimizer_keys() {
  static const Mapping m{
      .path = "train.optimizer",
      .where = "in train.optimizer",
      .keys =
          {
              {.name = "op", .value = Value::custom, .doc = "an optimizer op (default sgd)"},
              {.name = "lr", .value = Value::number, .doc = "learning rate (default 0.01)"},
              {.name = "clip_grad_norm",
               .value = Value::number,
               .doc = "scale gradients to this global L2 norm at most (0: off)"},
              {.name = "schedule",
               .value = Value::mapping,
               .doc = "how the learning rate changes",
               .table = &schedule_keys()},
          },
      .open = true,
      .settable = true};
  return m;
}

const Mapping& schedule_keys() {
  static const Mapping m{
      .path = "train.optimizer.schedule",
      .where = "in the schedule",
      .keys =
          {
              {.name = "kind",
               .value = Value::choice,
               .doc = "constant (default), step or cosine",
               .choices = {"constant", "step", "cosine"}},
              {.name = "warmup", .value = Value::integer, .doc = "steps of linear warm-up", .min = 0},
              {.name = "every", .value = Value::integer, .doc = "step: decay period in steps", .min = 1},
              {.name = "gamma", .value = Value::number, .doc = "step: decay factor"},
              {.name = "min_lr", .value = Value::number, .doc = "cosine: the floor"},
              {.name = "spike_step",
               .value = Value::integer,
               .doc = "fault injection: the step whose learning rate is multiplied by spike_factor",
               .min = 0},
              {.name = "spike_factor",
               .value = Value::number,
               .doc = "fault injection: the factor at spike_step (default 1)"},
          },
      .settable = true};
  return m;
}

const Mapping& checkpoint_keys() {
  static const Mapping m{.path = "train.checkpoint",
                         .where = "in train.checkpoint",
                         .keys =
                             {
                                 {.name = "path",
                                  .value = Value::string,
                                  .doc = "file name, relative to the output folder",
                                  .required = true},
                                 {.name = "every",
                                  .value = Value::custom,
                                  .doc = "steps between checkpoints, or epoch (default)",
                                  .min = 1},
                                 {.name = "encrypt",
                                  .value = Value::mapping,
                                  .doc = "seal checkpoints (docs/encryption.md)",
                                  .table = &encrypt_keys()},
                                 {.name = "sign",
                                  .value = Value::mapping,
                                  .doc = "write a signature FILE.minisig beside each checkpoint "
                                         "(docs/security.md)",
                                  .table = &sign_keys()},
                             },
                         .settable = true};
  return m;
}

const Mapping& encrypt_keys() {
  static const Mapping m{.path = "train.checkpoint.encrypt",
                         .where = "in train.checkpoint.encrypt",
                         .keys =
                             {
                                 {.name = "key_file",
                                  .value = Value::string,
                                  .doc = "key file, relative to the graph file",
                                  .min = 1},
                                 {.name = "passphrase_env",
                                  .value = Value::string,
                                  .doc = "environment variable holding a passphrase",
                                  .min = 1},
                             },
                         .exactly_one = true};
  return m;
}

const Mapping& sign_keys() {
  static const Mapping m{.path = "train.checkpoint.sign",
                         .where = "in train.checkpoint.sign",
                         .keys = {
                             {.name = "secret_key",
                              .value = Value::string,
                              .doc = "secret key file (keel keygen --sign), relative to the graph file",
                              .required = true,
                              .min = 1},
                             {.name = "passphrase_env",
                              .value = Value::string,
                              .doc = "environment variable holding the secret key's passphrase",
                              .min = 1},
                         }};
  return m;
}

std::vector<std::pair<std::string, const Mapping*>> settable_mappings() {
  // Depth first from train:, through mapping-valued keys of settable tables.
  std::vector<std::pair<std::string, const Mapping*>> out;
  auto walk = [&](auto& self, const std::string& path, const Mapping& m) -> void {
    if (!m.settable) return;
    out.emplace_back(path, &m);
    for (const Key& k : m.keys)
      if (k.value == Value::mapping)
        self(self, path.empty() ? std::string(k.name) : path + "." + std::string(k.name), *k.table);
  };
  walk(walk, "", train_keys());
  return out;
}

const std::vector<Initializer>& initializers() {
  // torch.nn.init's names and defaults: normal(std) has std 1 without it,
  // uniform(a, b) is [0, 1) without them.
  static const std::vector<Initializer> all = {
      {.name = "zeros"},
      {.name = "ones"},
      {.name = "constant", .args = "v", .count = 1, .needs_args = true},
      {.name = "normal", .args = "std", .count = 1},
      {.name = "uniform", .args = "a, b", .count = 2},
      {.name = "xavier"},
      {.name = "xavier_normal"},
      {.name = "kaiming"},
      {.name = "kaiming_normal"},
  };
  return all;
}

std::string initializer_list() {
  std::string out;
  for (const Initializer& i : initializers()) {
    out += (out.empty() ? "" : ", ") + std::string(i.name);
    if (!i.args.empty()) out += "(" + std::string(i.args) + ")";
  }
  return out;
}

}  // namespace keel::format
