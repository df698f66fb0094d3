// Helpers of the hardening tests (output targets, signals, bounds, messages):
// a key and a container made with the real `keel`, a listing of a folder,
// and what a path is (file, FIFO, device, link).
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "cli_util.hpp"

namespace keel::test {

// Every name in `dir`, hidden temporaries included.
inline std::set<std::string> listing(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

// True if `dir` holds an atomic writer's temporary (.NAME.tmp.PID.RANDOM).
inline bool has_temporary(const std::filesystem::path& dir) {
  for (const auto& name : listing(dir))
    if (name.size() > 1 && name[0] == '.' && name.find(".tmp.") != std::string::npos) return true;
  return false;
}

// In a forked child whose descriptors are set: replaces it with the runner
// `keel` (its path, found before the fork) and ARGS, or exits 127.
[[noreturn]] inline void exec_keel(const std::string& keel, const std::vector<std::string>& args) {
  std::vector<char*> argv{const_cast<char*>(keel.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(keel.c_str(), argv.data());
  ::_exit(127);
}

// lstat's file type bits of `p` (0 when it does not exist), or stat's
// (following links) when `follow`.
inline mode_t file_type(const std::filesystem::path& p, bool follow = false) {
  struct stat st {};
  if ((follow ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st)) != 0) return 0;
  return st.st_mode & S_IFMT;
}

inline mode_t permissions(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

inline int line_count(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// DIR/rows.csv: eight rows of four features and a class label in 0..2, for
// small training graphs (x: "0:4", y: 4).
inline void write_rows_csv(const TempDir& dir) {
  std::string csv;
  for (int r = 0; r < 8; ++r)
    csv += std::to_string(r) + "," + std::to_string(r % 3) + "," + std::to_string(7 - r) + ",1," +
           std::to_string(r % 3) + "\n";
  dir.write("rows.csv", csv);
}

// DIR/long.yaml over DIR/rows.csv: batches of two, many cheap steps (a
// hundred million), a checkpoint DIR/t.ckpt every 50, for runs that are
// stopped or killed part-way.
inline std::filesystem::path long_graph(const TempDir& dir) {
  write_rows_csv(dir);
  return dir.write("long.yaml",
                   "keel: 1\nname: long\ninputs:\n  x: {dtype: f32, shape: [batch, 4]}\n"
                   "  y: {dtype: i32, shape: [batch]}\n"
                   "nodes:\n  - {name: fc, op: linear, inputs: [x], attrs: {units: 3}}\n"
                   "  - {name: loss, op: softmax_cross_entropy, inputs: [fc, y]}\n"
                   "outputs: [fc]\ntrain:\n  loss: loss\n"
                   "  data: {csv: [rows.csv], columns: {x: \"0:4\", y: 4}, batch: 2, holdout: 0.25}\n"
                   "  steps: 100000000\n  optimizer: {op: sgd, lr: 0.01, momentum: 0.9}\n"
                   "  checkpoint: {path: t.ckpt, every: 50}\n");
}

// `keel keygen DIR/k.key`; the key file's path.
inline std::filesystem::path make_key(const std::filesystem::path& dir) {
  const auto key = dir / "k.key";
  const ProcessResult r = run_keel({"keygen", key.string(), "-q"});
  if (r.exit_code != 0) throw std::runtime_error("keygen failed: " + r.err);
  return key;
}

// `keel encrypt` of `plain` into `enc` with `key`.
inline void encrypt(const std::filesystem::path& plain, const std::filesystem::path& enc,
                    const std::filesystem::path& key) {
  const ProcessResult r =
      run_keel({"encrypt", plain.string(), enc.string(), "--key-file", key.string(), "-q"});
  if (r.exit_code != 0) throw std::runtime_error("encrypt failed: " + r.err);
}

}  // namespace keel::test
