// Helpers shared by the end-to-end tests of the `keel` runner.
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "process.hpp"
#include "runtime/tensor.hpp"

namespace keel::test {

// A fresh, empty folder under the system temp folder, removed at exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Writes `text` to a file in this folder and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

// A tensor of uniform values in [-1, 1) from a fixed seed.
Tensor random_tensor(const Shape& shape, std::uint32_t seed);

// `keel ARGS...` with a timeout.
ProcessResult run_keel(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

}  // namespace keel::test
