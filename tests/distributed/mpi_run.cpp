#include "mpi_run.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/safetensors.hpp"

namespace keel::test {

std::map<std::string, std::string> mpi_env() {
  // Open MPI refuses root without both; CI runs as root. Only these
  // processes get them.
  return {{"OMPI_ALLOW_RUN_AS_ROOT", "1"},
          {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"},
          // A test machine may have no network but loopback; these runs are
          // all local.
          {"OMPI_MCA_btl_tcp_if_include", "lo"},
          {"OMPI_MCA_oob_tcp_if_include", "lo"}};
}

std::vector<std::string> mpirun_argv(const MpiRun& run, const std::vector<std::string>& keel_args) {
  std::vector<std::string> argv{"/usr/bin/mpirun", "-np",       std::to_string(run.ranks),
                                "--oversubscribe", "--bind-to", "none"};
  if (run.tcp_only) argv.insert(argv.end(), {"--mca", "btl", "tcp,self"});
  argv.push_back(keel_binary());
  argv.insert(argv.end(), keel_args.begin(), keel_args.end());
  return argv;
}

ProcessResult run_ranks(const MpiRun& run, const std::vector<std::string>& keel_args, int timeout_s) {
  return run_process(mpirun_argv(run, keel_args), mpi_env(), timeout_s);
}

Difference largest_difference(const std::filesystem::path& ckpt, const std::filesystem::path& reference) {
  const TensorFile a = read_safetensors(ckpt), b = read_safetensors(reference);
  Difference worst;
  for (const auto& [name, ref] : b.tensors) {
    const Tensor* t = a.find(name);
    if (!t || t->shape() != ref.shape() || t->dtype() != DType::f32 || ref.dtype() != DType::f32)
      return {name, std::numeric_limits<double>::infinity()};
    const float* x = t->as<float>();
    const float* y = ref.as<float>();
    double scale = 0, diff = 0;
    for (std::int64_t i = 0; i < ref.numel(); ++i) {
      scale = std::max(scale, double(std::fabs(y[i])));
      diff = std::max(diff, double(std::fabs(x[i] - y[i])));
    }
    const double rel = diff / std::max(scale, 1e-3);
    if (!(rel <= worst.relative)) worst = {name, rel};
  }
  return worst;
}

}  // namespace keel::test
