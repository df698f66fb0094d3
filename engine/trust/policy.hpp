// The trust policy: which public keys are trusted (the *.pub files of a
// trust folder) and, under --require-signed, the input check that refuses
// every graph, data file, checkpoint and plugin library not signed by one of
// them. Signatures sit beside the files they sign, as FILE.minisig.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/input_check.hpp"
#include "trust/keys.hpp"

namespace keel::trust {

// <folder of the running keel>/../share/keel/trust: where `cmake --install`
// puts the public key the bundled plugins were signed with.
std::filesystem::path default_trust_dir();

// The trust folder: `cli` (--trust) when given, else $KEEL_TRUST when set
// and not empty, else the default.
std::filesystem::path trust_dir(const std::filesystem::path& cli);

// Whether $KEEL_REQUIRE_SIGNED asks for signatures: "1" yes; unset, "" or
// "0" no; anything else is keel::Error (usage), so a typo cannot turn the
// policy off.
bool require_signed_from_env();

// The public keys of every *.pub file in `dir`, in name order; none when the
// folder does not exist. keel::Error (usage) naming the file for a key file
// that is not one, and naming `dir` when it cannot be read.
std::vector<PublicKey> read_trusted_keys(const std::filesystem::path& dir);

// The input check of --require-signed: a file passes when FILE.minisig is a
// good signature of the bytes checked by one of the trusted keys. Refusals
// are keel::Error (usage, exit 2) naming the file and, when known, the key.
class RequireSigned final : public InputCheck {
 public:
  RequireSigned(std::vector<PublicKey> keys, std::filesystem::path dir);
  void check_bytes(std::string_view bytes, const std::filesystem::path& file) const override;
  void check_fd(int fd, const std::filesystem::path& file) const override;

 private:
  std::vector<PublicKey> keys_;
  std::filesystem::path dir_;  // named in messages about untrusted keys
};

// What `keel plugins` says of a file's signature, without refusing it:
// "unsigned", "signed by trusted key ID X", "signed by key ID X, which is not
// a trusted key", "bad signature ...", or why the signature cannot be read.
std::string signature_state(const std::filesystem::path& file, const std::vector<PublicKey>& keys);

}  // namespace keel::trust
