// Helpers of the data-parallel tests: `mpirun -np N keel ...` with Open
// MPI's permission to run as root given to these processes only, and
// comparisons of the checkpoints the runs write.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "process.hpp"

namespace keel::test {

struct MpiRun {
  int ranks = 2;
  bool tcp_only = false;  // --mca btl tcp,self: the network path of a multi-host run
};

// The environment every mpirun of these tests gets.
std::map<std::string, std::string> mpi_env();

// mpirun's argv for `keel ARGS...` on `run.ranks` local ranks (more than
// the machine's cores allowed).
std::vector<std::string> mpirun_argv(const MpiRun& run, const std::vector<std::string>& keel_args);

// Runs it to the end, killing it after `timeout_s` (scaled).
ProcessResult run_ranks(const MpiRun& run, const std::vector<std::string>& keel_args, int timeout_s = 300);

// The largest difference between two checkpoints' tensors of the same
// name, relative to the largest magnitude in that tensor of `reference`:
// max|a - b| / max(max|b|, 1e-3). The floor keeps tensors that stay near
// zero from dividing rounding by rounding: a linear layer's bias just
// before a batchnorm has no gradient but rounding (the normalization
// subtracts it again), so it stays ~1e-9 and is compared absolutely.
// A tensor that differs in shape or is missing is an infinite difference.
struct Difference {
  std::string tensor;
  double relative = 0;
};
Difference largest_difference(const std::filesystem::path& ckpt, const std::filesystem::path& reference);

}  // namespace keel::test
