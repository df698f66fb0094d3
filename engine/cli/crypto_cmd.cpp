// keel keygen / encrypt / decrypt: whole files through the codecs the
// plugins register (the encrypt plugin's `keel` container and `fernet`), so
// the runner itself never links a cipher nor holds a key. Only the encrypt
// plugin is loaded when its codecs serve the command (session.hpp).
#include <cstdio>
#include <functional>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/session.hpp"
#include "runtime/atomic_file.hpp"
#include "sealing/sealed_file.hpp"

namespace keel::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kDefaultFormat = "keel";

KeySource key_source(const CryptoOptions& o) {
  if (o.key_file.empty() == o.passphrase_env.empty())
    throw usage_error("give exactly one of --key-file FILE and --passphrase-env VAR");
  return {o.key_file, o.passphrase_env};
}

void check_paths(const CryptoOptions& o) {
  std::error_code ec;
  if (!fs::exists(o.in, ec)) throw usage_error("input file '" + o.in.string() + "' does not exist");
  // A device, FIFO or socket as OUT is refused now, before any key is read.
  check_output_target(o.out);
}

// Whether the registry has codec `name` (for load_codec_registry).
std::function<bool(const Registry&)> has_codec(const std::string& name) {
  return [name](const Registry& r) { return r.find_codec(name) != nullptr; };
}

}  // namespace

int keygen(const fs::path& file, const Common& common) {
  const Registry registry = load_codec_registry(common, has_codec(kDefaultFormat));
  CodecInstance codec = make_codec(registry, kDefaultFormat);
  write_key_file(*codec, file);
  if (!common.quiet)
    std::printf("wrote key file %s (mode 0600; anyone who can read it can decrypt what it sealed)\n",
                file.c_str());
  return 0;
}

int encrypt(const CryptoOptions& o, const Common& common) {
  const KeySource key = key_source(o);
  if (o.ttl >= 0) throw usage_error("--ttl applies to keel decrypt --format fernet only");
  check_paths(o);
  const std::string format = o.format.empty() ? kDefaultFormat : o.format;
  const Registry registry = load_codec_registry(common, has_codec(format));
  CodecInstance codec = make_codec(registry, format);
  check_key(*codec, format, key);
  seal_file(*codec, o.in, o.out, {key, -1});
  if (!common.quiet) std::printf("encrypted %s -> %s (%s)\n", o.in.c_str(), o.out.c_str(), format.c_str());
  return 0;
}

int decrypt(const CryptoOptions& o, const Common& common) {
  const KeySource key = key_source(o);
  check_paths(o);
  // Without --format, the plugin's codecs must recognize the file: another
  // plugin's codec may claim it.
  const Registry registry = load_codec_registry(common, [&](const Registry& r) {
    return o.format.empty() ? !detect_codec(r, o.in).empty() : r.find_codec(o.format) != nullptr;
  });
  std::string format = o.format;
  if (format.empty()) {
    // The format is recognized by the file's first bytes; anything else is
    // handed to the container codec, whose message says what is wrong
    // (empty file, bad magic).
    format = detect_codec(registry, o.in);
    if (format.empty()) format = kDefaultFormat;
  }
  if (o.ttl >= 0 && format != "fernet")
    throw usage_error("--ttl applies to Fernet tokens only (use --format fernet)");
  CodecInstance codec = make_codec(registry, format);
  check_key(*codec, format, key);
  open_file(*codec, o.in, o.out, {key, o.ttl});
  if (!common.quiet) std::printf("decrypted %s -> %s (%s)\n", o.in.c_str(), o.out.c_str(), format.c_str());
  return 0;
}

}  // namespace keel::cli
