// The `keel` subcommands, separate from argument parsing (cli/main.cpp) so
// that each one reads as a plain function of its options. Each returns the
// process exit code or throws keel::Error, which main() prints as one line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace keel::cli {

struct Common {
  std::vector<std::filesystem::path> plugin_paths;  // --plugin-path, in order
  bool quiet = false;
  std::filesystem::path trust;  // --trust: the trust folder (default: KEEL_TRUST, then the install's)
  bool require_signed = false;  // --require-signed (or KEEL_REQUIRE_SIGNED=1)
};

struct RunOptions {
  std::filesystem::path graph;
  std::vector<std::string> inputs;     // NAME=FILE
  std::vector<std::string> overrides;  // KEY=VALUE (seed=N, NODE.ATTR=VALUE)
  std::filesystem::path output_dir = "out";
  int threads = 0;                // --threads: cores for the run (0: all)
  int inter_op = 0;               // --inter-op: nodes run at once (0: the default, 1)
  bool stats = false;             // --stats: peak memory and per-node times
  bool no_optimize = false;       // --no-optimize: inference runs the graph as written
  std::filesystem::path profile;  // --profile: Chrome trace file
  std::filesystem::path resume;   // training: continue from this checkpoint
  std::filesystem::path params;   // load parameters from this checkpoint
  // Key for reading an encrypted --params / --resume checkpoint (default:
  // the training graph's train.checkpoint.encrypt).
  std::string key_file;
  std::string passphrase_env;
  // A plaintext --params/--resume checkpoint is refused while a key is in
  // effect (no silent downgrade) unless this is set.
  bool allow_plaintext = false;
  // --resume with another seed or batch size than the checkpoint recorded.
  bool allow_resume_mismatch = false;
};

// keel encrypt / decrypt IN OUT (cli/crypto_cmd.cpp).
struct CryptoOptions {
  std::filesystem::path in, out;
  std::string key_file;        // --key-file
  std::string passphrase_env;  // --passphrase-env
  std::string format;          // --format; empty: keel (encrypt), detected (decrypt)
  std::int64_t ttl = -1;       // --ttl (decrypt, fernet); -1: none
};

// keel sign / verify FILE (cli/sign_cmd.cpp).
struct SignOptions {
  std::filesystem::path file;
  std::filesystem::path secret_key;                // sign: --secret-key
  std::string passphrase_env;                      // sign: --passphrase-env
  std::optional<std::string> trusted_comment;      // sign: --trusted-comment (default: minisign's)
  std::vector<std::filesystem::path> public_keys;  // verify: --public-key, repeatable
  std::filesystem::path signature;                 // verify: --signature (default: FILE.minisig)
};

// keel serve GRAPH[=NAME]... (cli/serve_cmd.cpp, docs/serve.md).
struct ServeCliOptions {
  std::vector<std::string> graphs;            // GRAPH or GRAPH=NAME
  std::vector<std::filesystem::path> params;  // one for all, or one per graph
  std::string key_file, passphrase_env;
  bool allow_plaintext = false;
  std::string listen = "127.0.0.1:8080";
  std::int64_t max_batch = 1;
  std::int64_t max_delay_us = 0;
  std::size_t max_body_bytes = std::size_t{16} << 20;
  int max_connections = 256;
  std::int64_t read_timeout_ms = 10000;
  std::int64_t request_timeout_ms = 10000;
  int io_threads = 1;
  int threads = 0;
};

// keel import MODEL.onnx -o DIR (cli/import_cmd.cpp, docs/onnx.md).
struct ImportOptions {
  std::filesystem::path model;
  std::filesystem::path output_dir;
  std::string name;    // --name: the files' stem and the graph's name (default: the model's stem)
  bool force = false;  // --force: replace existing files
};

// keel export GRAPH --params CKPT -o MODEL.onnx (cli/import_cmd.cpp).
struct ExportOptions {
  std::filesystem::path graph, params, output;
  std::string key_file, passphrase_env;  // an encrypted checkpoint's key
  bool allow_plaintext = false;
  bool force = false;
};

int run(const RunOptions& options, const Common& common);
int import_onnx(const ImportOptions& options, const Common& common);
int export_onnx(const ExportOptions& options, const Common& common);
int serve(const ServeCliOptions& options, const Common& common);
int validate(const std::filesystem::path& graph, const std::vector<std::string>& overrides,
             const Common& common);
int plugins(bool json, const std::string& op, const Common& common);
// --format dot|svg|png; `output` empty: standard output.
int graph(const std::filesystem::path& graph, const std::string& format, const std::filesystem::path& output,
          const Common& common);
int keygen(const std::filesystem::path& file, const Common& common);
// keel keygen --sign NAME: NAME.key (secret, 0600) and NAME.pub.
int keygen_sign(const std::string& name, const std::string& passphrase_env, const Common& common);
int sign(const SignOptions& options, const Common& common);
int verify(const SignOptions& options, const Common& common);
int encrypt(const CryptoOptions& options, const Common& common);
int decrypt(const CryptoOptions& options, const Common& common);
// The SDK's conformance kit on one op (or every op): exit 1 if a check fails.
int check_op(const std::string& op, bool all, const std::vector<std::string>& attrs, const Common& common);
// A JSON Schema for graph files, with every registered op's attributes.
int schema(const Common& common);
// A training run's folder as one HTML file (`output` empty: DIR/report.html).
int report(const std::filesystem::path& dir, const std::filesystem::path& output, const Common& common);
// DIR/report.html at the end of a training run; a failure is a warning.
void report_after_training(const std::filesystem::path& dir, const Common& common);

}  // namespace keel::cli
