// keel serve: the graphs, their parameters (loaded once, never written) and
// the server's limits, handed to engine/serve (docs/serve.md).
#include <cstdlib>
#include <memory>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/session.hpp"
#include "serve/http_server.hpp"
#include "training/checkpoint.hpp"

namespace keel::cli {

namespace fs = std::filesystem;

int serve(const ServeCliOptions& o, const Common& common) {
  if (o.graphs.empty()) throw usage_error("keel serve needs at least one GRAPH (or GRAPH=NAME)");
  if (o.params.size() > 1 && o.params.size() != o.graphs.size())
    throw usage_error("give one --params for every graph, in order, or one for all (got " +
                      std::to_string(o.params.size()) + " for " + std::to_string(o.graphs.size()) +
                      " graphs)");
  if (!o.key_file.empty() && !o.passphrase_env.empty())
    throw usage_error("give at most one of --key-file and --passphrase-env");
  // oneDNN's OpenMP runtime reads this when the first plugin loads.
  if (o.threads > 0) setenv("OMP_NUM_THREADS", std::to_string(o.threads).c_str(), 1);
  Registry registry = load_registry(common);
  std::vector<std::unique_ptr<serve::ServedModel>> models;
  for (std::size_t i = 0; i < o.graphs.size(); ++i) {
    const std::string& spec = o.graphs[i];
    const auto eq = spec.rfind('=');
    const fs::path file = eq == std::string::npos ? fs::path(spec) : fs::path(spec.substr(0, eq));
    std::string name = eq == std::string::npos ? file.stem().string() : spec.substr(eq + 1);
    if (name.empty() || name.find_first_of("/?# ") != std::string::npos)
      throw usage_error("'" + printable(spec) +
                        "': a model name must be non-empty, without '/', '?', '#' or spaces");
    auto graph = std::make_unique<ValidatedGraph>(load_graph(file, {}, registry, common));
    if (graph->def.train)
      throw usage_error("a training graph cannot be served: serve its inference graph with --params",
                        {file.string(), 0, 0});
    auto model = std::make_unique<serve::ServedModel>(name, std::move(graph), registry);
    if (!o.params.empty())
      load_checkpoint(o.params.size() == 1 ? o.params.front() : o.params[i], model->plan(), nullptr,
                      {&registry, KeySource{o.key_file, o.passphrase_env}, o.allow_plaintext});
    model->optimize(registry);  // as keel run optimizes inference
    models.push_back(std::move(model));
  }
  serve::ServeOptions s;
  s.listen = o.listen;
  s.max_batch = o.max_batch;
  s.max_delay = std::chrono::microseconds(o.max_delay_us);
  s.max_body_bytes = o.max_body_bytes;
  s.max_connections = o.max_connections;
  s.read_timeout = std::chrono::milliseconds(o.read_timeout_ms);
  s.request_timeout = std::chrono::milliseconds(o.request_timeout_ms);
  s.io_threads = o.io_threads;
  s.quiet = common.quiet;
  return serve::serve(std::move(models), s);
}

}  // namespace keel::cli
