// The plugin's file codecs (keel/codec.hpp), used by `keel keygen`,
// `keel encrypt` / `keel decrypt` and encrypted checkpoints:
//   keel    the Keel container v1 (chunked AES-256-GCM), key file or passphrase;
//   fernet  Fernet tokens, key file only.
// Both write the same key files.
#pragma once

#include <memory>

#include "keel/codec.hpp"

namespace keel::encrypt {

std::unique_ptr<Codec> make_container_codec();
std::unique_ptr<Codec> make_fernet_codec();

}  // namespace keel::encrypt
