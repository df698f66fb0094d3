#include "trust/secret_key.hpp"

#include <cryptopp/blake2.h>
#include <cryptopp/scrypt.h>
#include <cryptopp/secblock.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/error.hpp"
#include "runtime/atomic_file.hpp"
#include "trust/base64.hpp"
#include "trust/ed25519.hpp"
#include "trust/text_file.hpp"

namespace keel::trust {

namespace {

constexpr std::string_view kCommentPrefix = "untrusted comment: ";
constexpr std::size_t kMaxSecretKeyFile = 4096;

// Offsets in the 158 decoded bytes.
constexpr std::size_t kKdfAlg = 2, kChkAlg = 4, kSalt = 6, kOpslimitAt = 38, kMemlimitAt = 46, kKeynum = 54;
constexpr std::size_t kSaltSize = 32, kChecksumSize = 32;
constexpr std::size_t kKeynumSize = kKeyIdSize + 64 + kChecksumSize;  // 104: what scrypt encrypts
constexpr std::size_t kFileBytes = kKeynum + kKeynumSize;             // 158

// libsodium's crypto_pwhash_scryptsalsa208sha256_{OPS,MEM}LIMIT_SENSITIVE,
// what minisign writes for a new encrypted key.
constexpr std::uint64_t kOpslimit = 33554432;
constexpr std::uint64_t kMemlimit = 1073741824;
// Bounds on what a key file may ask for, so that a crafted file cannot make
// keel allocate or compute without limit: four times minisign's own.
constexpr std::uint64_t kMaxScryptMemory = std::uint64_t{4} << 30;
constexpr std::uint64_t kMaxScryptWork = std::uint64_t{1} << 25;  // N * r * p

std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void store_le64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

struct ScryptParams {
  unsigned log2_n;
  std::uint32_t r, p;
};

// libsodium's pickparams(): how crypto_pwhash_scryptsalsa208sha256 turns an
// opslimit and a memlimit into scrypt's N, r and p. minisign stores only the
// two limits, so this must match libsodium to derive the same key.
ScryptParams pick_params(std::uint64_t opslimit, std::uint64_t memlimit) {
  if (opslimit < 32768) opslimit = 32768;
  ScryptParams s{1, 8, 1};
  if (opslimit < memlimit / 32) {
    const std::uint64_t max_n = opslimit / (s.r * 4);
    for (s.log2_n = 1; s.log2_n < 63; ++s.log2_n)
      if ((std::uint64_t{1} << s.log2_n) > max_n / 2) break;
  } else {
    const std::uint64_t max_n = memlimit / (std::uint64_t{s.r} * 128);
    for (s.log2_n = 1; s.log2_n < 63; ++s.log2_n)
      if ((std::uint64_t{1} << s.log2_n) > max_n / 2) break;
    std::uint64_t max_rp = (opslimit / 4) / (std::uint64_t{1} << s.log2_n);
    if (max_rp > 0x3fffffff) max_rp = 0x3fffffff;
    s.p = static_cast<std::uint32_t>(max_rp) / s.r;
  }
  return s;
}

// The 104 bytes XORed over key ID, secret key and checksum.
CryptoPP::SecByteBlock key_stream(std::string_view passphrase, const std::uint8_t* salt,
                                  std::uint64_t opslimit, std::uint64_t memlimit, const std::string& source) {
  const ScryptParams s = pick_params(opslimit, memlimit);
  const std::uint64_t n = std::uint64_t{1} << s.log2_n;
  if (s.p == 0 || s.log2_n > 40 || 128 * s.r * n > kMaxScryptMemory || n * s.r * s.p > kMaxScryptWork)
    throw usage_error("secret key file asks for scrypt parameters beyond keel's limits (opslimit " +
                          std::to_string(opslimit) + ", memlimit " + std::to_string(memlimit) + ")",
                      {source});
  CryptoPP::SecByteBlock out(kKeynumSize);
  CryptoPP::Scrypt kdf;
  kdf.DeriveKey(out.data(), out.size(), reinterpret_cast<const CryptoPP::byte*>(passphrase.data()),
                passphrase.size(), salt, kSaltSize, n, s.r, s.p);
  return out;
}

// BLAKE2b-256 of "Ed", the key ID and the secret key.
std::array<std::uint8_t, kChecksumSize> checksum(const SecretKey& key) {
  CryptoPP::BLAKE2b h(false, static_cast<unsigned>(kChecksumSize));
  const std::uint8_t alg[2] = {'E', 'd'};
  h.Update(alg, sizeof alg);
  h.Update(key.id.data(), key.id.size());
  h.Update(key.bytes.data(), key.bytes.size());
  std::array<std::uint8_t, kChecksumSize> out{};
  h.Final(out.data());
  return out;
}

}  // namespace

SecretKey::~SecretKey() {
  wipe(bytes.data(), bytes.size());
  wipe(id.data(), id.size());
}

PublicKey SecretKey::public_key() const {
  PublicKey p;
  p.id = id;
  std::copy(bytes.begin() + 32, bytes.end(), p.key.begin());
  return p;
}

std::unique_ptr<SecretKey> generate_secret_key() {
  auto key = std::make_unique<SecretKey>();
  random_bytes(key->id.data(), key->id.size());
  random_bytes(key->bytes.data(), 32);
  const Ed25519Public pub = ed25519_public_key(key->bytes.data());
  std::copy(pub.begin(), pub.end(), key->bytes.begin() + 32);
  return key;
}

std::unique_ptr<SecretKey> read_secret_key_file(const std::filesystem::path& path,
                                                std::string_view passphrase) {
  const std::string source = path.string();
  const std::string what = "minisign secret key";
  std::string text = read_small_file(path, kMaxSecretKeyFile, "secret key file", true);
  struct WipeText {
    std::string& s;
    ~WipeText() { wipe(s.data(), s.size()); }
  } wipe_text{text};
  const auto lines = split_lines(text);
  if (lines.size() != 2)
    throw usage_error(
        "not a " + what + ": expected 2 lines (a comment and the key), found " + std::to_string(lines.size()),
        {source});
  after_prefix(lines[0], kCommentPrefix, source, what);
  auto raw = base64_decode(lines[1]);
  struct WipeRaw {
    std::optional<std::vector<std::uint8_t>>& v;
    ~WipeRaw() {
      if (v && !v->empty()) wipe(v->data(), v->size());
    }
  } wipe_raw{raw};
  if (!raw || raw->size() != kFileBytes)
    throw usage_error(
        "malformed " + what + ": line 2 is not base64 of " + std::to_string(kFileBytes) + " bytes", {source});
  std::uint8_t* b = raw->data();
  if (b[0] != 'E' || b[1] != 'd')
    throw usage_error("malformed " + what + ": not an Ed25519 key (algorithm is not 'Ed')", {source});
  if (b[kChkAlg] != 'B' || b[kChkAlg + 1] != '2')
    throw usage_error("malformed " + what + ": unknown checksum algorithm (not 'B2')", {source});
  const bool encrypted = b[kKdfAlg] == 'S' && b[kKdfAlg + 1] == 'c';
  if (!encrypted && (b[kKdfAlg] != 0 || b[kKdfAlg + 1] != 0))
    throw usage_error("malformed " + what + ": unknown key derivation (neither 'Sc' nor none)", {source});
  if (encrypted) {
    if (passphrase.empty())
      throw usage_error("secret key file is encrypted: give its passphrase with --passphrase-env VAR",
                        {source});
    const auto stream =
        key_stream(passphrase, b + kSalt, load_le64(b + kOpslimitAt), load_le64(b + kMemlimitAt), source);
    for (std::size_t i = 0; i < kKeynumSize; ++i) b[kKeynum + i] ^= stream[i];
  }
  auto key = std::make_unique<SecretKey>();
  std::copy_n(b + kKeynum, kKeyIdSize, key->id.begin());
  std::copy_n(b + kKeynum + kKeyIdSize, key->bytes.size(), key->bytes.begin());
  const auto sum = checksum(*key);
  const std::uint8_t* stored = b + kKeynum + kKeyIdSize + key->bytes.size();
  // `minisign -G -W` (0.11) leaves the checksum of a key in the clear as
  // zeros; the public-half check below still catches damage to such a key.
  const bool no_checksum =
      !encrypted && std::all_of(stored, stored + kChecksumSize, [](std::uint8_t c) { return c == 0; });
  if (!no_checksum && !std::equal(sum.begin(), sum.end(), stored))
    throw usage_error(encrypted ? "wrong passphrase for the secret key file, or the file is damaged"
                                : "secret key file is damaged (its checksum does not match)",
                      {source});
  // A key whose public half is not the seed's would sign what its public
  // key cannot verify.
  const Ed25519Public pub = ed25519_public_key(key->bytes.data());
  if (!std::equal(pub.begin(), pub.end(), key->bytes.begin() + 32))
    throw usage_error("secret key file is damaged: its public key does not belong to its secret key",
                      {source});
  return key;
}

void write_secret_key_file(const std::filesystem::path& path, const SecretKey& key,
                           std::string_view passphrase) {
  CryptoPP::SecByteBlock raw(kFileBytes);
  std::memset(raw.data(), 0, raw.size());
  std::uint8_t* b = raw.data();
  b[0] = 'E';
  b[1] = 'd';
  b[kChkAlg] = 'B';
  b[kChkAlg + 1] = '2';
  std::copy(key.id.begin(), key.id.end(), b + kKeynum);
  std::copy(key.bytes.begin(), key.bytes.end(), b + kKeynum + kKeyIdSize);
  const auto sum = checksum(key);
  std::copy(sum.begin(), sum.end(), b + kKeynum + kKeyIdSize + key.bytes.size());
  if (!passphrase.empty()) {
    b[kKdfAlg] = 'S';
    b[kKdfAlg + 1] = 'c';
    random_bytes(b + kSalt, kSaltSize);
    store_le64(b + kOpslimitAt, kOpslimit);
    store_le64(b + kMemlimitAt, kMemlimit);
    const auto stream = key_stream(passphrase, b + kSalt, kOpslimit, kMemlimit, path.string());
    for (std::size_t i = 0; i < kKeynumSize; ++i) b[kKeynum + i] ^= stream[i];
  }
  std::string line = base64_encode(raw.data(), raw.size());
  struct WipeLine {
    std::string& s;
    ~WipeLine() { wipe(s.data(), s.size()); }
  } wipe_line{line};
  const std::string comment = std::string(kCommentPrefix) +
                              (passphrase.empty() ? "keel secret key " : "keel encrypted secret key ") +
                              key_id_hex(key.id) + "\n";
  AtomicFileOptions options;
  options.secret = true;
  options.no_clobber = true;
  write_file_atomically(
      path,
      [&](std::ostream& out) {
        out << comment;
        out.write(line.data(), static_cast<std::streamsize>(line.size()));
        out << '\n';
      },
      options);
}

std::string_view passphrase_from_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (!value)
    throw usage_error("environment variable " + name + " is not set (it should hold the passphrase)");
  if (*value == '\0')
    throw usage_error("environment variable " + name + " is empty (it should hold the passphrase)");
  return value;
}

}  // namespace keel::trust
