// What signature verification costs next to what it guards: each bundled
// plugin's verification (open, read the .minisig, BLAKE2b-512 of the whole
// file from the descriptor, the Ed25519 checks: keel::trust::verify_file)
// next to its first load (load_plugin into a fresh Registry, in a fresh
// process: trust_load_probe); a 100 MiB safetensors checkpoint's
// verification next to read_safetensors (read and decode); and the hash's
// throughput next to the machine's memory bandwidth, measured in the same
// run, with OpenSSL's BLAKE2b-512 as a peer. Everything is signed here with
// a key made here. Prints JSON for trust_report.py: medians of seconds and
// of minor page faults (fresh memory touched: on a VM each costs
// microseconds, which is most of a cold verification).
//
//   bench_trust [--quick] [DATA_DIR]   --quick: 3 rounds (else 7), 64 MiB bandwidth buffers (else 128)
#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "runtime/safetensors.hpp"
#include "trust/digest.hpp"
#include "trust/ed25519.hpp"
#include "trust/keys.hpp"
#include "trust/secret_key.hpp"
#include "trust/signature.hpp"
#include "trust/verify.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace trust = keel::trust;
using keel::bench::Clock;
using keel::bench::median;
using keel::bench::seconds_since;

struct Files {
  fs::path public_key, sig_dir;
  std::vector<trust::PublicKey> keys;
};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

int open_read(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path.string());
  return fd;
}

fs::path sig_path(const Files& f, const fs::path& file) {
  return f.sig_dir / (file.filename().string() + ".minisig");
}

void sign(const Files& f, const trust::SecretKey& key, const fs::path& file) {
  const int fd = open_read(file);
  const trust::Signature sig =
      trust::sign_file(fd, file.string(), key, trust::default_trusted_comment(file), "signed by bench_trust");
  ::close(fd);
  write_text(sig_path(f, file), trust::format_signature(sig));
}

// As trust_load_probe's verify: open, read the signature, verify, close.
void verify(const Files& f, const fs::path& file) {
  const int fd = open_read(file);
  const trust::Signature sig = trust::read_signature_file(sig_path(f, file));
  const trust::VerifyResult r = trust::verify_file(fd, file.string(), sig, f.keys);
  ::close(fd);
  trust::require_good(r, file.string());
}

// Runs the probe in a fresh process; its standard output, split into numbers.
std::vector<double> probe(const std::vector<std::string>& args) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::vector<char*> argv;
  std::string exe = KEEL_BENCH_TRUST_PROBE;
  argv.push_back(exe.data());
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    throw std::runtime_error("cannot start " + exe + ": " + std::strerror(rc));
  }
  std::string text;
  char buf[256];
  for (ssize_t got; (got = ::read(out[0], buf, sizeof buf)) > 0;) text.append(buf, std::size_t(got));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("trust_load_probe failed");
  std::istringstream in(text);
  std::vector<double> values;
  for (double v; in >> v;) values.push_back(v);
  return values;
}

// A checkpoint of `count` f32 tensors of [1024, 1024] (4 MiB each), with
// pseudo-random values: compressibility does not matter to a hash, but a
// page of zeros would be cheap to fault in.
void write_checkpoint(const fs::path& path, int count) {
  keel::TensorFile file;
  std::uint32_t x = 12345;
  for (int t = 0; t < count; ++t) {
    keel::Tensor w(keel::DType::f32, {1024, 1024});
    float* p = w.as<float>();
    for (std::int64_t i = 0; i < w.numel(); ++i) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      p[i] = float(x >> 8) * 0x1p-24f - 0.5f;
    }
    file.tensors.emplace_back("layer" + std::to_string(t) + ".weight", std::move(w));
  }
  file.metadata["format"] = "bench";
  keel::write_safetensors(path, file);
}

// The floor for anything that reads every byte (as bench_anomaly's): each
// 64-bit word loaded once and XOR-folded, in independent lanes.
__attribute__((noinline)) std::uint64_t stream_read(const std::uint8_t* p, std::size_t n) {
  const auto* w = reinterpret_cast<const std::uint64_t*>(p);
  std::uint64_t lane[8] = {};
  for (std::size_t i = 0; i + 8 <= n / 8; i += 8)
    for (int j = 0; j < 8; ++j) lane[j] ^= w[i + j];
  std::uint64_t acc = 0;
  for (std::uint64_t v : lane) acc ^= v;
  return acc;
}

volatile std::uint64_t sink;

long minor_faults() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// One measurement's samples: seconds and minor page faults, reported as
// medians.
struct Samples {
  std::vector<double> seconds, faults;
  void add(double s, double f) {
    seconds.push_back(s);
    faults.push_back(f);
  }
  template <class F>
  void time(F&& call) {
    const long f0 = minor_faults();
    const auto t0 = Clock::now();
    call();
    add(seconds_since(t0), double(minor_faults() - f0));
  }
  std::string json() const {
    char buf[96];
    std::snprintf(buf, sizeof buf, "{\"s\": %.9f, \"faults\": %.0f}", median(seconds), median(faults));
    return buf;
  }
};

keel::trust::Digest openssl_blake2b(const std::uint8_t* data, std::size_t size) {
  keel::trust::Digest out{};
  unsigned len = 0;
  if (EVP_Digest(data, size, out.data(), &len, EVP_blake2b512(), nullptr) != 1 || len != out.size())
    throw std::runtime_error("OpenSSL BLAKE2b-512 failed");
  return out;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  return keel::bench::bench_main("bench_trust", argc, argv, [&](bool quick) {
    fs::path data = fs::path(KEEL_BENCH_DIR) / "data" / "trust";
    for (int i = 1; i < argc; ++i)
      if (std::string(argv[i]) != "--quick") data = argv[i];
    const int rounds = quick ? 3 : 7;
    const fs::path plugin_dir = KEEL_BENCH_BUNDLED_PLUGINS;

    // A key made for this run only; the public half is written for the probe.
    Files f;
    f.sig_dir = data / "signatures";
    fs::create_directories(f.sig_dir);
    const auto key = trust::generate_secret_key();
    f.keys = {key->public_key()};
    f.public_key = data / "bench.pub";
    write_text(f.public_key, trust::format_public_key(f.keys[0]));

    std::vector<fs::path> plugins;
    for (const auto& e : fs::directory_iterator(plugin_dir))
      if (e.path().extension() == ".so") plugins.push_back(e.path());
    std::sort(plugins.begin(), plugins.end());
    if (plugins.empty()) throw std::runtime_error("no plugins in " + plugin_dir.string());
    for (const fs::path& p : plugins) sign(f, *key, p);

    const int tensors = 25;  // 100 MiB
    const fs::path checkpoint = data / "checkpoint.safetensors";
    write_checkpoint(checkpoint, tensors);
    sign(f, *key, checkpoint);
    const auto checkpoint_bytes = fs::file_size(checkpoint);

    // Warm-up: every file in the page cache, the probe's libraries too.
    for (const fs::path& p : plugins) verify(f, p);
    verify(f, checkpoint);
    sink = keel::read_safetensors(checkpoint).tensors.size();
    probe({f.public_key.string(), f.sig_dir.string(), "--all", plugin_dir.string()});

    // Rounds: each plugin (in a rotating order) verified in this process
    // (warm: Crypto++ and the buffers already set up) and then verified and
    // loaded by a fresh probe; the whole folder by a fresh probe; the
    // checkpoint verified and read, in alternating order. Each with the
    // minor page faults it took.
    const std::size_t n = plugins.size();
    std::vector<Samples> warm(n), fresh_verify(n), fresh_load(n);
    Samples all_verify, all_load, all_checked, ck_verify, ck_read;
    // The build signed the plugins beside themselves; its public key is in
    // the build's trust folder, where `keel --require-signed` looks.
    const fs::path build_trust =
        (plugin_dir / ".." / ".." / ".." / "share" / "keel" / "trust").lexically_normal();
    std::size_t all_count = 0;
    const std::vector<std::string> probe_args{f.public_key.string(), f.sig_dir.string()};
    for (int r = 0; r < rounds; ++r) {
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (k + std::size_t(r)) % n;
        warm[i].time([&] { verify(f, plugins[i]); });
        auto args = probe_args;
        args.push_back(plugins[i].string());
        const auto v = probe(args);
        if (v.size() != 4) throw std::runtime_error("unexpected output from trust_load_probe");
        fresh_verify[i].add(v[0], v[2]);
        fresh_load[i].add(v[1], v[3]);
      }
      auto args = probe_args;
      args.insert(args.end(), {"--all", plugin_dir.string()});
      const auto v = probe(args);
      if (v.size() != 5) throw std::runtime_error("unexpected output from trust_load_probe --all");
      all_verify.add(v[0], v[2]);
      all_load.add(v[1], v[3]);
      all_count = std::size_t(v[4]);
      const auto c = probe({"--require-signed", build_trust.string(), plugin_dir.string()});
      if (c.size() != 3 || std::size_t(c[2]) != all_count)
        throw std::runtime_error("unexpected output from trust_load_probe --require-signed");
      all_checked.add(c[0], c[1]);
      for (int k = 0; k < 2; ++k) {
        if ((k + r) % 2 == 0)
          ck_verify.time([&] { verify(f, checkpoint); });
        else
          ck_read.time([&] { sink = keel::read_safetensors(checkpoint).tensors.size(); });
      }
    }

    // Hash throughput against memory bandwidth, one buffer far larger than
    // the caches, side by side; OpenSSL's BLAKE2b-512 as a peer of Crypto++'s.
    const std::size_t bytes = std::size_t(quick ? 64 : 128) << 20;
    std::unique_ptr<std::uint8_t, decltype(&std::free)> src(
        static_cast<std::uint8_t*>(std::aligned_alloc(64, bytes)), &std::free),
        dst(static_cast<std::uint8_t*>(std::aligned_alloc(64, bytes)), &std::free);
    for (std::size_t i = 0; i < bytes; ++i) src.get()[i] = static_cast<std::uint8_t>(i * 131 + (i >> 12));
    std::memset(dst.get(), 0, bytes);
    if (openssl_blake2b(src.get(), bytes) != trust::hash_bytes(src.get(), bytes))
      throw std::runtime_error("OpenSSL and the trust module disagree on BLAKE2b-512");
    const auto bw = keel::bench::compare(
        {{"BLAKE2b-512 (hash_bytes)", [&] { sink = trust::hash_bytes(src.get(), bytes)[0]; }},
         {"BLAKE2b-512 (OpenSSL)", [&] { sink = openssl_blake2b(src.get(), bytes)[0]; }},
         {"read", [&] { sink = stream_read(src.get(), bytes); }},
         {"memcpy",
          [&] {
            std::memcpy(dst.get(), src.get(), bytes);
            sink = dst.get()[bytes / 2];
          }}},
        rounds, 0.0);
    const double gb = double(bytes) / 1e9;

    // The part of a verification that does not grow with the file: the two
    // Ed25519 checks (the digest's and the trusted comment's), on the
    // checkpoint's signature, repeated so that a sample lasts 20 ms.
    const trust::Signature ck_sig = trust::read_signature_file(sig_path(f, checkpoint));
    trust::Digest ck_digest{};
    {
      const int fd = open_read(checkpoint);
      ck_digest = trust::hash_fd(fd, checkpoint.string());
      ::close(fd);
    }
    std::vector<std::uint8_t> global(ck_sig.signature.begin(), ck_sig.signature.end());
    global.insert(global.end(), ck_sig.trusted_comment.begin(), ck_sig.trusted_comment.end());
    const auto ed = keel::bench::compare(
        {{"Ed25519 x2",
          [&] {
            if (!trust::ed25519_verify(f.keys[0].key, ck_digest.data(), ck_digest.size(), ck_sig.signature) ||
                !trust::ed25519_verify(f.keys[0].key, global.data(), global.size(), ck_sig.global_signature))
              throw std::runtime_error("Ed25519 check of the checkpoint's signature failed");
          }}},
        rounds);

    std::printf("{\"rounds\": %d,\n \"plugins\": [", rounds);
    for (std::size_t i = 0; i < n; ++i)
      std::printf(
          "%s\n  {\"name\": %s, \"bytes\": %llu, \"verify_warm\": %s, \"verify_fresh\": %s, \"load_fresh\": "
          "%s}",
          i ? "," : "", json_string(plugins[i].filename().string()).c_str(),
          static_cast<unsigned long long>(fs::file_size(plugins[i])), warm[i].json().c_str(),
          fresh_verify[i].json().c_str(), fresh_load[i].json().c_str());
    std::printf("],\n \"all\": {\"count\": %zu, \"verify\": %s, \"load\": %s, \"checked_load\": %s},\n",
                all_count, all_verify.json().c_str(), all_load.json().c_str(), all_checked.json().c_str());
    std::printf(" \"checkpoint\": {\"bytes\": %llu, \"tensors\": %d, \"verify\": %s, \"read\": %s},\n",
                static_cast<unsigned long long>(checkpoint_bytes), tensors, ck_verify.json().c_str(),
                ck_read.json().c_str());
    std::printf(
        " \"bandwidth\": {\"bytes\": %zu, \"hash_gbps\": %.4f, \"openssl_hash_gbps\": %.4f, "
        "\"read_gbps\": %.4f, \"memcpy_gbps\": %.4f},\n \"ed25519_pair_s\": %.9f}\n",
        bytes, gb / bw[0], gb / bw[1], gb / bw[2], gb / bw[3], ed[0]);
  });
}
