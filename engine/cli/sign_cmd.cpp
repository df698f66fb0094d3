// keel keygen --sign / sign / verify: Ed25519 key pairs and detached
// signatures in minisign's formats, through engine/trust (docs/security.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "runtime/atomic_file.hpp"
#include "trust/detached.hpp"
#include "trust/keys.hpp"
#include "trust/secret_key.hpp"
#include "trust/signature.hpp"
#include "trust/verify.hpp"

namespace keel::cli {

namespace fs = std::filesystem;

namespace {

void refuse_existing(const fs::path& p) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(p, ec))) throw usage_error("'" + p.string() + "' already exists");
}

std::string_view passphrase(const std::string& env) {
  return env.empty() ? std::string_view{} : trust::passphrase_from_env(env);
}

}  // namespace

int keygen_sign(const std::string& name, const std::string& passphrase_env, const Common& common) {
  if (name.empty())
    throw usage_error("--sign needs a NAME: the key pair is written to NAME.key and NAME.pub");
  const fs::path secret = name + ".key", pub = name + ".pub";
  // Both are checked first, so a half-existing pair is refused before
  // anything is written.
  refuse_existing(secret);
  refuse_existing(pub);
  const std::string_view pass = passphrase(passphrase_env);
  const auto key = trust::generate_secret_key();
  trust::write_secret_key_file(secret, *key, pass);
  const std::string pub_text = trust::format_public_key(key->public_key());
  try {
    AtomicFileOptions options;
    options.no_clobber = true;
    write_fd_atomically(
        pub,
        [&](int fd) {
          // Readable by all whatever the umask: it is meant to be handed out.
          if (::fchmod(fd, 0644) != 0 ||
              ::write(fd, pub_text.data(), pub_text.size()) != static_cast<ssize_t>(pub_text.size()))
            throw runtime_error(std::string("cannot write: ") + std::strerror(errno), {pub.string()});
        },
        options);
  } catch (...) {
    // No secret key without its public key: the pair is all or nothing.
    std::error_code ec;
    fs::remove(secret, ec);
    throw;
  }
  if (!common.quiet)
    std::printf("wrote secret key %s (mode 0600%s) and public key %s (key ID %s)\n", secret.c_str(),
                pass.empty() ? ", not encrypted" : ", encrypted with the passphrase", pub.c_str(),
                trust::key_id_hex(key->id).c_str());
  return 0;
}

int sign(const SignOptions& o, const Common& common) {
  if (o.secret_key.empty()) throw usage_error("keel sign needs --secret-key FILE");
  const trust::RegularFile in(o.file);  // refused before any passphrase is asked for
  const fs::path out = trust::signature_path_for(o.file);
  check_output_target(out);
  const auto key = trust::read_secret_key_file(o.secret_key, passphrase(o.passphrase_env));
  std::string trusted = o.trusted_comment ? *o.trusted_comment : trust::default_trusted_comment(o.file);
  if (trusted.find_first_of("\r\n") != std::string::npos)
    throw usage_error("--trusted-comment must be one line");
  const trust::Signature sig = trust::write_detached_signature(o.file, *key, std::move(trusted));
  if (!common.quiet)
    std::printf("signed %s -> %s (key ID %s)\n", in.name().c_str(), out.c_str(),
                trust::key_id_hex(sig.key_id).c_str());
  return 0;
}

int verify(const SignOptions& o, const Common& common) {
  if (o.public_keys.empty()) throw usage_error("keel verify needs --public-key FILE");
  std::vector<trust::PublicKey> keys;
  for (const auto& p : o.public_keys) keys.push_back(trust::read_public_key_file(p));
  const trust::RegularFile in(o.file);
  const fs::path sig_path = o.signature.empty() ? trust::signature_path_for(o.file) : o.signature;
  const trust::Signature sig = trust::read_signature_file(sig_path);
  const trust::VerifyResult result = trust::verify_file(in.fd(), in.name(), sig, keys);
  trust::require_good(result, in.name());
  if (!common.quiet)
    std::printf("keel: %s: %s\ntrusted comment: %s\n", in.name().c_str(), result.describe().c_str(),
                printable(result.trusted_comment, 1000).c_str());
  return 0;
}

}  // namespace keel::cli
