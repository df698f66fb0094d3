// Argument parsing for `keel` (CLI11 stays in this one file: it is slow to
// compile) and the mapping of every failure to one stderr line and the
// documented exit code: 0 ok, 1 failure while running, 2 bad usage, graph or
// input, 3 stopped by an anomaly guard.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>

#include "base/error.hpp"
#include "base/log_prefix.hpp"
#include "base/suggest.hpp"
#include "cli/commands.hpp"
#include "keel/version.hpp"
#include "runtime/allocator_tuning.hpp"
#include "runtime/signals.hpp"

namespace {

void add_common(CLI::App* cmd, keel::cli::Common& common) {
  cmd->add_option("--plugin-path", common.plugin_paths,
                  "Extra folder to search for plugins (after the bundled folder and KEEL_PLUGIN_PATH); "
                  "repeatable");
  cmd->add_flag("-q,--quiet", common.quiet, "Print only errors");
  cmd->add_option(
      "--trust", common.trust,
      "Folder of trusted public keys (*.pub; default: KEEL_TRUST, then <prefix>/share/keel/trust)");
  cmd->add_flag("--require-signed", common.require_signed,
                "Refuse every plugin, graph, data file and checkpoint that a trusted key did not sign "
                "(also KEEL_REQUIRE_SIGNED=1)");
}

// `keel bogus`: CLI11 would say "The following arguments were not
// expected"; a mistyped command deserves its name and the list.
bool unknown_command(const CLI::App& app, int argc, char** argv) {
  // keel itself takes no option with a value: the first word is the command.
  int at = 1;
  while (at < argc && argv[at][0] == '-') ++at;
  if (at >= argc) return false;
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  const std::string word = argv[at];
  if (std::find(names.begin(), names.end(), word) != names.end()) return false;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  std::fprintf(stderr, "keel: error: unknown command '%s'%s (commands: %s)\n", keel::printable(word).c_str(),
               keel::did_you_mean(word, names).c_str(), list.c_str());
  return true;
}

// Output that never reached its destination (`keel schema > /dev/full`)
// is a failure: buffered standard output is flushed and checked before the
// exit code says success.
int finish_stdout(int code) {
  errno = 0;
  std::cout.flush();  // through stdout's buffer (synced with stdio)
  const bool cout_failed = !std::cout;
  if (std::fflush(stdout) != 0 || std::ferror(stdout) || cout_failed) {
    int err = errno;
    if (err == 0) {
      // The write that failed was an earlier flush, whose errno is gone; the
      // output is incomplete already, so one more byte learns the reason.
      std::clearerr(stdout);
      std::fputc('\n', stdout);
      if (std::fflush(stdout) != 0) err = errno;
    }
    std::fprintf(stderr, "keel: error: cannot write to standard output%s%s\n", err ? ": " : "",
                 err ? std::strerror(err) : "");
    return code == 0 ? static_cast<int>(keel::ExitCode::runtime) : code;
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  keel::keep_freed_memory();  // no fresh pages for every step's tensors (runtime/allocator_tuning.hpp)
  keel::signals::install();   // SIGINT/SIGTERM/SIGHUP remove temporaries (runtime/signals.hpp)
  // Past a file-size limit (ulimit -f) a write then fails with EFBIG and is
  // reported, its temporary removed, instead of SIGXFSZ killing keel with
  // the temporary left behind.
  std::signal(SIGXFSZ, SIG_IGN);
  namespace cli = keel::cli;
  CLI::App app{"keel: run, validate and inspect Keel computation graphs"};
  app.set_version_flag("--version", std::string("keel ") + KEEL_SDK_VERSION_STRING);
  app.require_subcommand(1);
  cli::Common common;

  cli::RunOptions run;
  auto* run_cmd =
      app.add_subcommand("run", "Validate, plan and run a graph; write every output as DIR/NAME.npy");
  run_cmd->add_option("graph", run.graph, "Graph file (YAML)")->required();
  run_cmd->add_option("-i,--input", run.inputs, "Data for a graph input: NAME=FILE.npy; repeatable");
  run_cmd->add_option("-o,--output-dir", run.output_dir, "Folder for the outputs")->capture_default_str();
  run_cmd->add_option("--set", run.overrides,
                      "Override seed=N, NODE.ATTR=VALUE, or any training key train.KEY=VALUE "
                      "(train.epochs=3, train.data.batch=16, train.optimizer.lr=0.1, "
                      "train.optimizer.schedule.kind=cosine), checked as in the graph file; repeatable");
  run_cmd->add_option("--resume", run.resume, "Training: continue from this checkpoint");
  run_cmd->add_option("--params", run.params, "Load parameters from this checkpoint (safetensors)");
  run_cmd->add_option("--key-file", run.key_file, "Key file of an encrypted --params/--resume checkpoint");
  run_cmd->add_option("--passphrase-env", run.passphrase_env,
                      "Environment variable holding the passphrase of an encrypted checkpoint");
  run_cmd->add_flag("--allow-plaintext", run.allow_plaintext,
                    "Accept a plaintext --params/--resume checkpoint although a key is given");
  run_cmd->add_flag("--allow-resume-mismatch", run.allow_resume_mismatch,
                    "Resume although the seed or batch size differs from the checkpoint's");
  run_cmd->add_option("--threads", run.threads, "Cores to use in all (default: all cores)")
      ->check(CLI::Range(1, 1024));
  run_cmd
      ->add_option("--inter-op", run.inter_op,
                   "Nodes run at once; each op gets threads/inter-op OpenMP threads (default: 1)")
      ->check(CLI::Range(1, 1024));
  run_cmd->add_flag("--stats", run.stats, "Print peak tensor memory and time per node after the run");
  run_cmd->add_flag("--no-optimize", run.no_optimize,
                    "Inference: run the graph as written (no batchnorm folded into the layer before it)");
  run_cmd->add_option("--profile", run.profile, "Write a Chrome trace (Perfetto, chrome://tracing) to FILE");
  add_common(run_cmd, common);

  std::filesystem::path validate_graph;
  std::vector<std::string> validate_overrides;
  auto* validate_cmd = app.add_subcommand(
      "validate", "Check a graph without data: schema, ops, attributes, inputs, cycles, shapes");
  validate_cmd->add_option("graph", validate_graph, "Graph file (YAML)")->required();
  validate_cmd->add_option("--set", validate_overrides,
                           "Override seed=N, NODE.ATTR=VALUE, or any training key train.KEY=VALUE "
                           "(train.epochs=3, train.data.batch=16, train.optimizer.lr=0.1, "
                           "train.optimizer.schedule.kind=cosine), checked as in the graph file; repeatable");
  add_common(validate_cmd, common);

  bool plugins_json = false;
  std::string plugins_op;
  auto* plugins_cmd =
      app.add_subcommand("plugins", "List the plugins found, their ops, ports and attributes");
  plugins_cmd->add_flag("--json", plugins_json, "Machine-readable output");
  plugins_cmd->add_option("op", plugins_op, "Show one op in full");
  add_common(plugins_cmd, common);

  std::filesystem::path graph_file;
  std::string graph_format = "dot";
  std::filesystem::path graph_output;
  auto* graph_cmd = app.add_subcommand("graph", "Draw the graph: DOT text, or SVG/PNG through Graphviz");
  graph_cmd->add_option("graph", graph_file, "Graph file (YAML)")->required();
  graph_cmd->add_option("--format", graph_format, "dot, svg or png (svg and png need Graphviz's dot)")
      ->capture_default_str();
  graph_cmd->add_option("-o,--output", graph_output, "Write to FILE instead of standard output");
  add_common(graph_cmd, common);

  std::filesystem::path keygen_file;
  std::string keygen_sign_name, keygen_passphrase_env;
  auto* keygen_cmd = app.add_subcommand(
      "keygen",
      "Write a new random key file, or with --sign a signing key pair (mode 0600; never overwrites)");
  keygen_cmd->add_option("keyfile", keygen_file, "Key file to create (an encryption key)");
  keygen_cmd->add_option(
      "--sign", keygen_sign_name,
      "Write an Ed25519 signing key pair instead: NAME.key (secret) and NAME.pub (minisign's "
      "formats)");
  keygen_cmd->add_option(
      "--passphrase-env", keygen_passphrase_env,
      "With --sign: encrypt the secret key with the passphrase in this environment variable");
  add_common(keygen_cmd, common);

  cli::SignOptions signing;
  auto* sign_cmd = app.add_subcommand("sign", "Sign a file: write the detached signature FILE.minisig");
  sign_cmd->add_option("file", signing.file, "File to sign")->required();
  sign_cmd
      ->add_option("--secret-key", signing.secret_key, "Secret key file (keel keygen --sign, minisign -G)")
      ->required();
  sign_cmd->add_option("--passphrase-env", signing.passphrase_env,
                       "Environment variable holding the passphrase of an encrypted secret key");
  sign_cmd->add_option("--trusted-comment", signing.trusted_comment,
                       "One line the signature covers (default: timestamp and file name)");
  add_common(sign_cmd, common);
  auto* verify_cmd =
      app.add_subcommand("verify", "Check a file's signature against public keys; exit 2 if bad");
  verify_cmd->add_option("file", signing.file, "File to verify")->required();
  verify_cmd
      ->add_option("--public-key", signing.public_keys, "Public key file of a trusted signer; repeatable")
      ->required();
  verify_cmd->add_option("--signature", signing.signature, "Signature file (default: FILE.minisig)");
  add_common(verify_cmd, common);

  cli::CryptoOptions crypt;
  auto add_crypto = [&](CLI::App* cmd, bool decrypting) {
    cmd->add_option("in", crypt.in, "Input file")->required();
    cmd->add_option("out", crypt.out, "Output file (written atomically)")->required();
    cmd->add_option("--key-file", crypt.key_file, "Key file (see keel keygen)");
    cmd->add_option("--passphrase-env", crypt.passphrase_env,
                    "Environment variable holding a passphrase (scrypt; keel format only)");
    cmd->add_option(
        "--format", crypt.format,
        decrypting ? "keel or fernet (default: recognized from the file)" : "keel (default) or fernet");
    if (decrypting)
      cmd->add_option("--ttl", crypt.ttl, "Fernet: reject tokens older than this many seconds")
          ->check(CLI::NonNegativeNumber);
    add_common(cmd, common);
  };
  auto* encrypt_cmd = app.add_subcommand("encrypt", "Encrypt a file (docs/encryption.md)");
  add_crypto(encrypt_cmd, false);
  auto* decrypt_cmd = app.add_subcommand("decrypt", "Authenticate and decrypt a file");
  add_crypto(decrypt_cmd, true);
  std::string check_op_name;
  bool check_op_all = false;
  std::vector<std::string> check_op_attrs;
  auto* check_op_cmd = app.add_subcommand(
      "check-op", "Check that an op keeps the plugin contract (shapes, determinism, gradients, threads)");
  check_op_cmd->add_option("op", check_op_name, "The op to check");
  check_op_cmd->add_flag("--all", check_op_all, "Check every registered op");
  check_op_cmd->add_option("--attrs", check_op_attrs, "Attribute NAME=VALUE for every example; repeatable");
  add_common(check_op_cmd, common);

  auto* schema_cmd = app.add_subcommand("schema", "Print a JSON Schema for graph files (for YAML editors)");
  add_common(schema_cmd, common);

  std::filesystem::path report_dir, report_output;
  auto* report_cmd =
      app.add_subcommand("report", "Write a training run's charts and facts as one self-contained HTML file");
  report_cmd->add_option("dir", report_dir, "The run's output folder (keel run -o DIR)")->required();
  report_cmd->add_option("-o,--output", report_output, "The HTML file (default: DIR/report.html)");
  add_common(report_cmd, common);

  cli::ImportOptions importing;
  auto* import_cmd = app.add_subcommand(
      "import", "Import an ONNX model: DIR/NAME.yaml (the graph) and DIR/NAME.safetensors (docs/onnx.md)");
  import_cmd->add_option("model", importing.model, "ONNX model file (.onnx)")->required();
  import_cmd->add_option("-o,--output", importing.output_dir, "Folder to write into (created if missing)")
      ->required();
  import_cmd->add_option("--name", importing.name,
                         "Name of the graph and its files (default: the model's stem)");
  import_cmd->add_flag("--force", importing.force, "Replace existing files");
  add_common(import_cmd, common);

  cli::ExportOptions exporting;
  auto* export_cmd =
      app.add_subcommand("export", "Export a graph and its parameters as an ONNX model (docs/onnx.md)");
  export_cmd->add_option("graph", exporting.graph, "Graph file (YAML): the inference graph")->required();
  export_cmd->add_option("--params", exporting.params, "Parameters (checkpoint)")->required();
  export_cmd->add_option("-o,--output", exporting.output, "ONNX file to write")->required();
  export_cmd->add_option("--key-file", exporting.key_file, "Key file of an encrypted checkpoint");
  export_cmd->add_option("--passphrase-env", exporting.passphrase_env,
                         "Environment variable holding an encrypted checkpoint's passphrase");
  export_cmd->add_flag("--allow-plaintext", exporting.allow_plaintext,
                       "Accept a plaintext checkpoint although a key is given");
  export_cmd->add_flag("--force", exporting.force, "Replace an existing file");
  add_common(export_cmd, common);

  cli::ServeCliOptions serving;
  auto* serve_cmd =
      app.add_subcommand("serve", "Serve graphs over HTTP/1.1, screening every request (docs/serve.md)");
  serve_cmd
      ->add_option("graph", serving.graphs, "GRAPH.yaml or GRAPH.yaml=NAME (default NAME: the file's stem)")
      ->required();
  serve_cmd->add_option("--params", serving.params,
                        "Parameters (checkpoint): one for all graphs, or one each");
  serve_cmd->add_option("--key-file", serving.key_file, "Key file of encrypted checkpoints");
  serve_cmd->add_option("--passphrase-env", serving.passphrase_env,
                        "Environment variable holding the checkpoints' passphrase");
  serve_cmd->add_flag("--allow-plaintext", serving.allow_plaintext,
                      "Accept a plaintext checkpoint although a key is given");
  serve_cmd->add_option("--listen", serving.listen, "ADDRESS:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-batch", serving.max_batch, "Rows per run when batching requests (1: no batching)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20))
      ->capture_default_str();
  serve_cmd->add_option("--max-delay-us", serving.max_delay_us, "How long a run waits for more requests")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{10'000'000}))
      ->capture_default_str();
  serve_cmd->add_option("--max-body-bytes", serving.max_body_bytes, "Largest request body")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32))
      ->capture_default_str();
  serve_cmd->add_option("--max-connections", serving.max_connections, "Connections served at once")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  serve_cmd
      ->add_option("--read-timeout-ms", serving.read_timeout_ms,
                   "A whole request (headers and body) must arrive within this")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}))
      ->capture_default_str();
  serve_cmd
      ->add_option("--request-timeout-ms", serving.request_timeout_ms,
                   "Deadline from a request's last byte to its answer")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}))
      ->capture_default_str();
  serve_cmd->add_option("--io-threads", serving.io_threads, "Threads reading and writing connections")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  serve_cmd->add_option("--threads", serving.threads, "Cores each run may use (default: all)")
      ->check(CLI::Range(1, 4096));
  add_common(serve_cmd, common);

  if (unknown_command(app, argc, argv)) return static_cast<int>(keel::ExitCode::usage);
  // Not a terminal: standard output goes out in one piece at the end (or
  // where a command flushes), so a failed write is seen by finish_stdout
  // with its reason rather than midway, where errno is soon overwritten.
  static char stdout_buffer[1 << 20];
  if (!::isatty(1)) std::setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return finish_stdout(app.exit(e));  // --help, --version
    // CLI11 quotes the arguments as given: escaped and cut, on one line.
    std::fprintf(stderr, "keel: error: %s (run 'keel --help' for usage)\n",
                 keel::printable(e.what(), 300).c_str());
    return static_cast<int>(keel::ExitCode::usage);
  }

  try {
    if (*run_cmd) return finish_stdout(cli::run(run, common));
    if (*serve_cmd) return finish_stdout(cli::serve(serving, common));
    if (*import_cmd) return finish_stdout(cli::import_onnx(importing, common));
    if (*export_cmd) return finish_stdout(cli::export_onnx(exporting, common));
    if (*validate_cmd) return finish_stdout(cli::validate(validate_graph, validate_overrides, common));
    if (*plugins_cmd) return finish_stdout(cli::plugins(plugins_json, plugins_op, common));
    if (*graph_cmd) return finish_stdout(cli::graph(graph_file, graph_format, graph_output, common));
    if (*keygen_cmd) {
      if (keygen_cmd->count("--sign") > 0) {
        if (!keygen_file.empty()) throw keel::usage_error("give either KEYFILE or --sign NAME, not both");
        return finish_stdout(cli::keygen_sign(keygen_sign_name, keygen_passphrase_env, common));
      }
      if (!keygen_passphrase_env.empty())
        throw keel::usage_error("--passphrase-env applies to keel keygen --sign NAME only");
      // What CLI11 said when KEYFILE was the only form and required.
      if (keygen_file.empty()) throw keel::usage_error("keyfile is required (run 'keel --help' for usage)");
      return finish_stdout(cli::keygen(keygen_file, common));
    }
    if (*sign_cmd) return finish_stdout(cli::sign(signing, common));
    if (*verify_cmd) return finish_stdout(cli::verify(signing, common));
    if (*encrypt_cmd) return finish_stdout(cli::encrypt(crypt, common));
    if (*decrypt_cmd) return finish_stdout(cli::decrypt(crypt, common));
    if (*check_op_cmd)
      return finish_stdout(cli::check_op(check_op_name, check_op_all, check_op_attrs, common));
    if (*schema_cmd) return finish_stdout(cli::schema(common));
    if (*report_cmd) return finish_stdout(cli::report(report_dir, report_output, common));
  } catch (const keel::Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", keel::log_prefix().c_str(), e.format().c_str());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory\n", keel::log_prefix().c_str());
    return static_cast<int>(keel::ExitCode::runtime);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: internal error: %s\n", keel::log_prefix().c_str(), e.what());
    return static_cast<int>(keel::ExitCode::runtime);
  } catch (...) {
    std::fprintf(stderr, "%s: error: internal error: an unknown exception\n", keel::log_prefix().c_str());
    return static_cast<int>(keel::ExitCode::runtime);
  }
  return static_cast<int>(keel::ExitCode::usage);
}
