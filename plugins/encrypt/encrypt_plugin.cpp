// Entry point of the encrypt plugin: authenticated encryption of tensors
// into Keel containers (docs/encryption.md), and the `keel` and `fernet`
// file codecs behind `keel keygen|encrypt|decrypt` and encrypted checkpoints.
#include "codecs.hpp"
#include "encrypt_ops.hpp"

namespace {

void register_ops(keel::Registrar& r) {
  using namespace keel::encrypt;
  r.add(encrypt_schema(), make_encrypt);
  r.add(decrypt_schema(), make_decrypt);
}

void register_codecs(keel::CodecRegistrar& r) {
  using namespace keel::encrypt;
  r.add("keel", "Keel container v1: chunked AES-256-GCM; key file or scrypt passphrase",
        make_container_codec);
  r.add("fernet", "Fernet tokens (AES-128-CBC + HMAC-SHA256), as Python's cryptography.fernet; key file",
        make_fernet_codec);
}

}  // namespace

KEEL_PLUGIN_WITH_CODECS("encrypt", "1.1.0", register_ops, register_codecs)
