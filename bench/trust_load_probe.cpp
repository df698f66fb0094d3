// What a fresh keel process pays to verify and then load plugins, for
// bench_trust (which starts one of these per measurement). The dynamic
// linker keeps a library mapped once a process has loaded it, so a second
// load in the same process costs nothing: only a fresh process shows the
// first load, with the libraries a plugin pulls in (oneDNN, Crypto++, ...).
// This program links what keel links before any plugin is loaded (the
// registry and the trust module, no oneDNN), so those come in here as they
// do there.
//
//   trust_load_probe PUBLIC_KEY SIG_DIR PLUGIN.so
//       verifies PLUGIN.so against SIG_DIR/PLUGIN.so.minisig, then loads it
//       into a fresh Registry; prints "VERIFY_S LOAD_S VERIFY_FAULTS LOAD_FAULTS"
//   trust_load_probe PUBLIC_KEY SIG_DIR --all DIR
//       verifies every *.so of DIR, then loads them all as keel run does
//       (load_plugins); prints the same and COUNT, the number of plugins
//   trust_load_probe --require-signed TRUST_DIR DIR
//       loads every *.so of DIR as `keel run --require-signed` does: each
//       copied into a sealed memory file, verified there against
//       DIR/NAME.so.minisig and loaded from the copy; prints "LOAD_S
//       LOAD_FAULTS COUNT"
//
// Times are taken inside the process: process start and exit are not in
// them. The faults are minor page faults (fresh memory touched, files
// mapped): on a VM each costs microseconds, and they explain cold times.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/input_check.hpp"
#include "registry/loader.hpp"
#include "registry/registry.hpp"
#include "trust/keys.hpp"
#include "trust/policy.hpp"
#include "trust/signature.hpp"
#include "trust/verify.hpp"

namespace {

namespace fs = std::filesystem;
namespace trust = keel::trust;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

long minor_faults() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Open, read the detached signature, hash the file from the descriptor and
// check it: what a verifying loader does before it loads a file.
void verify(const fs::path& file, const fs::path& sig_dir, const std::vector<trust::PublicKey>& keys) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw keel::usage_error("cannot open", {file.string()});
  try {
    const trust::Signature sig =
        trust::read_signature_file(sig_dir / (file.filename().string() + ".minisig"));
    trust::require_good(trust::verify_file(fd, file.string(), sig, keys), file.string());
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

}  // namespace

// The loader under the trust policy: check and load are one step.
int checked_load(const fs::path& trust_dir, const fs::path& dir) {
  keel::set_input_check(
      std::make_shared<trust::RequireSigned>(trust::read_trusted_keys(trust_dir), trust_dir));
  keel::Registry registry;
  const long f0 = minor_faults();
  const auto t0 = Clock::now();
  keel::load_plugins(registry, {dir});
  const double load_s = seconds_since(t0);
  std::printf("%.9f %ld %zu\n", load_s, minor_faults() - f0, registry.plugins().size());
  return 0;
}

int main(int argc, char** argv) {
  try {
    if (argc == 4 && std::string(argv[1]) == "--require-signed") return checked_load(argv[2], argv[3]);
    const bool all = argc == 5 && std::string(argv[3]) == "--all";
    if (argc != 4 && !all) {
      std::fprintf(stderr, "usage: trust_load_probe PUBLIC_KEY SIG_DIR (PLUGIN.so | --all DIR)\n");
      return 2;
    }
    const std::vector<trust::PublicKey> keys{trust::read_public_key_file(argv[1])};
    const fs::path sig_dir = argv[2];
    std::vector<fs::path> files;
    if (all) {
      for (const auto& e : fs::directory_iterator(argv[4]))
        if (e.path().extension() == ".so") files.push_back(e.path());
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(argv[3]);
    }
    long f0 = minor_faults();
    auto t0 = Clock::now();
    for (const fs::path& f : files) verify(f, sig_dir, keys);
    const double verify_s = seconds_since(t0);
    const long verify_faults = minor_faults() - f0;
    keel::Registry registry;
    f0 = minor_faults();
    t0 = Clock::now();
    if (all)
      keel::load_plugins(registry, {fs::path(argv[4])});
    else
      keel::load_plugin(registry, files[0]);
    const double load_s = seconds_since(t0);
    const long load_faults = minor_faults() - f0;
    std::printf("%.9f %.9f %ld %ld", verify_s, load_s, verify_faults, load_faults);
    if (all) std::printf(" %zu", files.size());
    std::printf("\n");
  } catch (const keel::Error& e) {
    std::fprintf(stderr, "trust_load_probe: %s\n", e.format().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trust_load_probe: %s\n", e.what());
    return 1;
  }
  return 0;
}
