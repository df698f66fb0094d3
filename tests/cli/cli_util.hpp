// Helpers shared by the end-to-end tests of the `keel` runner (and, through
// files.hpp, their scratch folders).
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "files.hpp"
#include "process.hpp"
#include "runtime/tensor.hpp"

namespace keel::test {

// A tensor of uniform values in [-1, 1) from a fixed seed.
Tensor random_tensor(const Shape& shape, std::uint32_t seed);

// `python3 SCRIPT ARGS...` with the system's Python: the tests' independent
// references and checks.
ProcessResult run_python(const std::string& script, const std::vector<std::string>& args);

// `keel ARGS...` with a timeout.
ProcessResult run_keel(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {});

}  // namespace keel::test
