// The `train:` section of a graph file, as written (positions kept for
// errors). The training loop (training/trainer.hpp) gives it meaning.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph_def.hpp"
#include "keel/codec.hpp"

namespace keel {

// Columns of the data files bound to one graph input: "0:64" (columns 0 to
// 63) or a single column number.
struct ColumnsDef {
  std::string input;
  std::int64_t first = 0;
  std::int64_t count = 1;
  bool single = true;  // a single column number: the input has shape [batch]
  // Columns named by the header row ("mean radius:worst area", both ends
  // included, or one name); first/count are resolved when the data is read.
  std::string first_name, last_name;
  Loc loc;
};

// Where rows come from: CSV files side by side, or one .npy file per input.
struct DataSourceDef {
  std::vector<std::string> csv;                          // relative to the graph file
  std::vector<std::pair<std::string, std::string>> npy;  // input -> file, relative to the graph file
  Loc loc;
};

struct DataDef {
  std::vector<std::string> csv;                          // relative to the graph file
  std::vector<std::pair<std::string, std::string>> npy;  // input -> file, relative to the graph file
  std::vector<ColumnsDef> columns;
  std::optional<bool> header;  // the first CSV line names the columns; unset: detected
  std::int64_t batch = 32;
  bool shuffle = true;
  // Unset: drop a last batch of one row when the graph has an op that uses
  // batch statistics in training (a batch norm cannot normalize one row).
  std::optional<bool> drop_last;
  double holdout = 0.0;  // fraction of the rows held out
  // A separate hold-out source instead of a fraction (same columns).
  std::optional<DataSourceDef> holdout_source;
  Loc loc;
};

struct ScheduleDef {
  std::string kind = "constant";  // constant | step | cosine
  std::int64_t warmup = 0;        // steps of linear warm-up from lr/warmup to lr
  std::int64_t every = 1;         // step: decay period in steps
  double gamma = 0.1;             // step: decay factor
  double min_lr = 0.0;            // cosine: floor
  // Fault injection: the learning rate times spike_factor at step
  // spike_step only (-1: never), to test what guards do with a bad step.
  std::int64_t spike_step = -1;
  double spike_factor = 1.0;
  Loc loc;
};

struct OptimizerDef {
  std::string op = "sgd";  // an optimizer op, e.g. sgd, adam, adamw
  double lr = 0.01;
  double clip_grad_norm = 0.0;               // 0: off
  std::map<std::string, AttrLiteral> attrs;  // passed to the op (momentum, weight_decay, ...)
  ScheduleDef schedule;
  Loc loc, op_loc;
};

struct CheckpointDef {
  std::string path;        // relative to the output folder; empty: no checkpoints
  std::int64_t every = 0;  // steps between checkpoints; 0: at the end of every epoch
  // encrypt: {key_file: K} or {passphrase_env: VAR}: checkpoints are sealed
  // (Keel container) before they touch the disk. key_file is resolved
  // against the graph file's folder by the parser. Empty: plain safetensors.
  KeySource encrypt;
  // sign: {secret_key: K, passphrase_env: VAR}: every checkpoint written
  // gets a detached signature, FILE.minisig (docs/security.md). secret_key
  // is resolved against the graph file's folder; passphrase_env names the
  // variable holding an encrypted key's passphrase. Empty: not signed.
  std::string sign_key;
  std::string sign_passphrase_env;
  Loc loc, encrypt_loc, path_loc, sign_loc;
};

// A name in a phase's `params:` list: a node (all its parameters), a
// parameter (fc1.weight), or a glob pattern over both (g_*).
struct ParamPattern {
  std::string text;
  Loc loc;
};

// One objective of a training step with several (train.phases): its loss,
// the parameters it updates and its optimizer. Phases run in order on each
// batch, each `repeat` times; a GAN's discriminator step, then its
// generator step.
struct PhaseDef {
  std::string name;
  ValueRef loss;
  std::vector<ParamPattern> params;
  OptimizerDef optimizer;
  std::int64_t repeat = 1;
  Loc loc, name_loc;
};

// train.samples: a sampling graph run with the parameters trained so far,
// drawn as DIR/samples/epoch-NNN.png (training/sample_grid_observer.hpp).
struct SamplesDef {
  std::string graph;       // resolved against the graph file's folder by the parser
  std::int64_t every = 1;  // epochs between grids; the last epoch always has one
  Loc loc;
};

struct TrainDef {
  ValueRef loss;  // a single objective; unused when `phases` is given
  DataDef data;
  std::int64_t epochs = 1;
  std::int64_t steps = 0;  // > 0: stop after this many steps instead
  OptimizerDef optimizer;
  std::vector<PhaseDef> phases;  // several objectives; empty: `loss` and `optimizer`
  CheckpointDef checkpoint;
  std::vector<std::string> freeze;        // node or parameter names
  std::vector<std::string> calibrate;     // standardize nodes fed by a graph input
  std::string metrics = "metrics.jsonl";  // JSON lines, relative to the output folder
  bool sync_batchnorm = false;            // train.distributed.sync_batchnorm (docs/distributed.md)
  bool report = true;                     // write DIR/report.html at the end of the run (engine/report)
  std::optional<SamplesDef> samples;
  Loc loc, metrics_loc;

  // The loss of each objective: `loss`, or each phase's.
  std::vector<const ValueRef*> losses() const {
    std::vector<const ValueRef*> out;
    if (phases.empty()) out.push_back(&loss);
    for (const PhaseDef& p : phases) out.push_back(&p.loss);
    return out;
  }
  // The optimizer of each objective, in the same order.
  std::vector<const OptimizerDef*> optimizers() const {
    std::vector<const OptimizerDef*> out;
    if (phases.empty()) out.push_back(&optimizer);
    for (const PhaseDef& p : phases) out.push_back(&p.optimizer);
    return out;
  }
};

}  // namespace keel
