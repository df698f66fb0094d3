// Entry point of the encrypt plugin: authenticated encryption of tensors
// into Keel containers (docs/encryption.md).
#include "encrypt_ops.hpp"

namespace {

void register_ops(keel::Registrar& r) {
  using namespace keel::encrypt;
  r.add(encrypt_schema(), make_encrypt);
  r.add(decrypt_schema(), make_decrypt);
}

}  // namespace

KEEL_PLUGIN("encrypt", "1.0.0", register_ops)
