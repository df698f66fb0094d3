// keel import MODEL.onnx -o DIR: an ONNX model as a Keel graph file and its
// parameters; keel export GRAPH --params CKPT -o MODEL.onnx, the way back
// (docs/onnx.md). The imported graph is validated against the loaded
// plugins before anything is written; no file replaces an existing one
// unless --force is given; each is written atomically.
#include <cstdio>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/session.hpp"
#include "graph/parse.hpp"
#include "onnx/exporter.hpp"
#include "onnx/importer.hpp"
#include "planner/plan.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/safetensors.hpp"
#include "training/checkpoint.hpp"

namespace keel::cli {

namespace fs = std::filesystem;

int import_onnx(const ImportOptions& options, const Common& common) {
  const std::string name =
      options.name.empty() ? onnx::identifier_from(options.model.stem().string()) : options.name;
  if (onnx::identifier_from(name) != name)
    throw usage_error("--name '" + name + "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)");
  const fs::path graph_path = options.output_dir / (name + ".yaml");
  const fs::path params_path = options.output_dir / (name + ".safetensors");
  if (!options.force)
    for (const fs::path& p : {graph_path, params_path}) {
      std::error_code ec;
      if (fs::exists(fs::symlink_status(p, ec)))
        throw usage_error("'" + p.string() + "' already exists (--force replaces it)");
    }

  const onnx::Model model = onnx::read_model(options.model);
  onnx::Importer importer(model);
  importer.run();
  const std::string text = importer.yaml(name);

  // What keel run will check, checked now: a graph that does not validate
  // is an importer defect, reported before any file is written.
  Registry registry = load_registry(common);
  try {
    GraphDef def = parse_graph_text(text, graph_path.string());
    ValidatedGraph graph = validate_graph(std::move(def), registry);
    Plan plan(graph, registry);
    plan.infer_symbolic();
  } catch (const Error& e) {
    throw usage_error(options.model.string() + ": the imported graph does not validate: " + e.format());
  }

  std::error_code ec;
  fs::create_directories(options.output_dir, ec);
  if (ec) throw runtime_error("cannot create folder: " + ec.message(), {options.output_dir.string()});
  write_safetensors(params_path, importer.params());
  write_file_atomically(graph_path, [&](std::ostream& out) { out << text; });
  if (!common.quiet)
    std::printf("%s: %zu ONNX nodes -> %s (%zu parameters in %s)\n", options.model.c_str(),
                model.nodes.size(), graph_path.c_str(), importer.params().tensors.size(),
                params_path.c_str());
  return 0;
}

int export_onnx(const ExportOptions& options, const Common& common) {
  if (!options.force) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(options.output, ec)))
      throw usage_error("'" + options.output.string() + "' already exists (--force replaces it)");
  }
  if (!options.key_file.empty() && !options.passphrase_env.empty())
    throw usage_error("give at most one of --key-file and --passphrase-env");
  Registry registry = load_registry(common);
  ValidatedGraph graph = load_graph(options.graph, {}, registry, common);
  Plan plan(graph, registry);
  plan.infer_symbolic();
  load_checkpoint(options.params, plan, nullptr,
                  {&registry, KeySource{options.key_file, options.passphrase_env}, options.allow_plaintext});
  const std::string bytes = onnx::serialize_model(onnx::export_plan(plan));
  write_file_atomically(options.output, [&](std::ostream& out) { out << bytes; });
  if (!common.quiet)
    std::printf("%s: %zu nodes -> %s (ONNX opset %lld, %zu bytes)\n", options.graph.c_str(),
                graph.nodes.size(), options.output.c_str(), static_cast<long long>(onnx::kExportOpset),
                bytes.size());
  return 0;
}

}  // namespace keel::cli
