#include "cli_util.hpp"

#include <unistd.h>

#include <fstream>

namespace keel::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  static int counter = 0;
  path_ = fs::temp_directory_path() /
          ("keel-cli-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path TempDir::write(const std::string& name, const std::string& text) const {
  fs::path p = path_ / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

Tensor random_tensor(const Shape& shape, std::uint32_t seed) {
  Tensor t(DType::f32, shape);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = dist(gen);
  return t;
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
