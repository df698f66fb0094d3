// The `keel` subcommands, separate from argument parsing (cli/main.cpp) so
// that each one reads as a plain function of its options. Each returns the
// process exit code or throws keel::Error, which main() prints as one line.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace keel::cli {

struct Common {
  std::vector<std::filesystem::path> plugin_paths;  // --plugin-path, in order
  bool quiet = false;
};

struct RunOptions {
  std::filesystem::path graph;
  std::vector<std::string> inputs;     // NAME=FILE
  std::vector<std::string> overrides;  // KEY=VALUE (seed=N, NODE.ATTR=VALUE)
  std::filesystem::path output_dir = "out";
  int threads = 0;  // 0: leave the default
  std::filesystem::path resume;  // training: continue from this checkpoint
  std::filesystem::path params;  // load parameters from this checkpoint
};

int run(const RunOptions& options, const Common& common);
int validate(const std::filesystem::path& graph, const std::vector<std::string>& overrides,
             const Common& common);
int plugins(bool json, const std::string& op, const Common& common);
int graph(const std::filesystem::path& graph, const std::string& format, const Common& common);
// The SDK's conformance kit on one op (or every op): exit 1 if a check fails.
int check_op(const std::string& op, bool all, const std::vector<std::string>& attrs, const Common& common);
// A JSON Schema for graph files, with every registered op's attributes.
int schema(const Common& common);

}  // namespace keel::cli
