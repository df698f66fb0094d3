#include "trust/policy.hpp"

#include <algorithm>
#include <cstdlib>
#include <system_error>
#include <utility>

#include "base/error.hpp"
#include "trust/detached.hpp"
#include "trust/signature.hpp"
#include "trust/verify.hpp"

namespace keel::trust {

namespace fs = std::filesystem;

namespace {

// The signature of `file`, or a refusal saying that there is none.
Signature signature_of(const fs::path& file) {
  const fs::path sig = signature_path_for(file);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(sig, ec)))
    throw usage_error("not signed: " + sig.filename().string() +
                          " does not exist, and signatures are required (--require-signed)",
                      {file.string()});
  return read_signature_file(sig);
}

void require(const VerifyResult& result, const fs::path& file, const fs::path& dir) {
  if (result.good()) return;
  std::string why = result.describe();
  if (result.status == VerifyStatus::untrusted_key) why += " (trusted keys: " + dir.string() + ")";
  throw usage_error(why, {file.string()});
}

}  // namespace

fs::path default_trust_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return (exe.parent_path() / ".." / "share" / "keel" / "trust").lexically_normal();
}

fs::path trust_dir(const fs::path& cli) {
  if (!cli.empty()) return cli;
  if (const char* env = std::getenv("KEEL_TRUST"); env && *env) return env;
  return default_trust_dir();
}

bool require_signed_from_env() {
  const char* env = std::getenv("KEEL_REQUIRE_SIGNED");
  if (!env || !*env || std::string_view(env) == "0") return false;
  if (std::string_view(env) == "1") return true;
  throw usage_error("KEEL_REQUIRE_SIGNED is '" + printable(env) +
                    "'; it must be 1 (require signatures) or 0");
}

std::vector<PublicKey> read_trusted_keys(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return {};
  if (!fs::is_directory(dir, ec))
    throw usage_error("the trust folder '" + dir.string() + "' is not a folder");
  std::vector<fs::path> files;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".pub") files.push_back(it->path());
  if (ec) throw usage_error("cannot read the trust folder '" + dir.string() + "': " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<PublicKey> keys;
  for (const fs::path& f : files) keys.push_back(read_public_key_file(f));
  return keys;
}

RequireSigned::RequireSigned(std::vector<PublicKey> keys, fs::path dir)
    : keys_(std::move(keys)), dir_(std::move(dir)) {
  if (keys_.empty())
    throw usage_error("signatures are required (--require-signed), but the trust folder '" + dir_.string() +
                      "' holds no public key (*.pub); give one with --trust DIR or KEEL_TRUST");
}

void RequireSigned::check_bytes(std::string_view bytes, const fs::path& file) const {
  require(verify_bytes(bytes, signature_of(file), keys_), file, dir_);
}

void RequireSigned::check_fd(int fd, const fs::path& file) const {
  require(verify_file(fd, file.string(), signature_of(file), keys_), file, dir_);
}

std::string signature_state(const fs::path& file, const std::vector<PublicKey>& keys) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(signature_path_for(file), ec))) return "unsigned";
  try {
    const Signature sig = read_signature_file(signature_path_for(file));
    const RegularFile in(file);
    const VerifyResult result = verify_file(in.fd(), in.name(), sig, keys);
    if (result.good()) return "signed by trusted key ID " + key_id_hex(result.key_id);
    return result.describe();
  } catch (const Error& e) {
    return e.message();
  }
}

}  // namespace keel::trust
