#include "cli_util.hpp"

namespace keel::test {

Tensor random_tensor(const Shape& shape, std::uint32_t seed) {
  Tensor t(DType::f32, shape);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = dist(gen);
  return t;
}

ProcessResult run_python(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/python3", script};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

ProcessResult run_keel(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{keel_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  // Tests must not pick up plugins from the developer's environment.
  std::map<std::string, std::string> e{{"KEEL_PLUGIN_PATH", ""}};
  for (const auto& [k, v] : env) e[k] = v;
  return run_process(argv, e);
}

}  // namespace keel::test
