// In-process encryption throughput on one 256 MiB buffer: the encrypt op's
// chunk path (keel::encrypt::encrypt_into / decrypt_into, what the `encrypt`
// and `decrypt` ops and the container codec run) on one thread and on all,
// against raw Crypto++ AES-256-GCM and OpenSSL's EVP AES-256-GCM sealing the
// same buffer in one call on one thread. Prints JSON (GB/s, medians).
//
// The raw peers are what a hand-written single call costs: the op's path
// adds the container (a header, one GCM call per 1 MiB chunk with a fresh
// nonce and tag) and its threads.
#include <cryptopp/aes.h>
#include <cryptopp/gcm.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "container.hpp"

namespace {

namespace enc = keel::encrypt;
using keel::bench::Variant;

constexpr std::size_t kSize = std::size_t{256} << 20;
constexpr std::uint32_t kChunk = enc::kDefaultChunkSize;

void crypto_pp_seal(const std::vector<std::uint8_t>& key, const std::uint8_t* nonce,
                    const std::vector<std::uint8_t>& in, std::vector<std::uint8_t>& out) {
  CryptoPP::GCM<CryptoPP::AES>::Encryption gcm;
  gcm.SetKeyWithIV(key.data(), key.size(), nonce, 12);
  gcm.EncryptAndAuthenticate(out.data(), out.data() + in.size(), 16, nonce, 12, nullptr, 0, in.data(),
                             in.size());
}

bool crypto_pp_open(const std::vector<std::uint8_t>& key, const std::uint8_t* nonce,
                    const std::vector<std::uint8_t>& sealed, std::vector<std::uint8_t>& out) {
  CryptoPP::GCM<CryptoPP::AES>::Decryption gcm;
  gcm.SetKeyWithIV(key.data(), key.size(), nonce, 12);
  const std::size_t n = sealed.size() - 16;
  return gcm.DecryptAndVerify(out.data(), sealed.data() + n, 16, nonce, 12, nullptr, 0, sealed.data(), n);
}

void openssl_seal(const std::vector<std::uint8_t>& key, const std::uint8_t* nonce,
                  const std::vector<std::uint8_t>& in, std::vector<std::uint8_t>& out) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(in.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx, out.data() + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + in.size()) != 1)
    throw std::runtime_error("OpenSSL AES-256-GCM failed");
  EVP_CIPHER_CTX_free(ctx);
}

bool openssl_open(const std::vector<std::uint8_t>& key, const std::uint8_t* nonce,
                  const std::vector<std::uint8_t>& sealed, std::vector<std::uint8_t>& out) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  const int n = static_cast<int>(sealed.size() - 16);
  int len = 0;
  std::uint8_t tag[16];
  std::memcpy(tag, sealed.data() + n, 16);
  bool ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce) == 1 &&
            EVP_DecryptUpdate(ctx, out.data(), &len, sealed.data(), n) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
            EVP_DecryptFinal_ex(ctx, out.data() + len, &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

double gbps(double seconds) { return static_cast<double>(kSize) / seconds / 1e9; }

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const int rounds = quick ? 2 : 7;
  std::vector<std::uint8_t> key(32), plain(kSize);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 7 + 1);
  std::uint32_t x = 12345;
  for (auto& b : plain) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  const std::uint8_t nonce[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::size_t container = 56 + kSize + 16 * (kSize / kChunk);
  std::vector<std::uint8_t> sealed_op(container), sealed_raw(kSize + 16), sealed_ssl(kSize + 16), back(kSize);
  const enc::ByteSpan k(key.data(), key.size()), p(plain.data(), plain.size());

  auto op = [&](unsigned threads) {
    return [&, threads] {
      enc::set_max_threads(threads);
      enc::encrypt_into(k, p, kChunk, sealed_op.data());
    };
  };
  auto op_open = [&](unsigned threads) {
    return [&, threads] {
      enc::set_max_threads(threads);
      if (enc::decrypt_into(k, enc::ByteSpan(sealed_op.data(), sealed_op.size()), back.data(), kSize) !=
          kSize)
        throw std::runtime_error("op decrypt: wrong length");
    };
  };
  const unsigned all = std::max(1u, std::thread::hardware_concurrency());
  const auto seal_t =
      keel::bench::compare({{"op 1 thread", op(1)},
                            {"op all threads", op(0)},
                            {"crypto++", [&] { crypto_pp_seal(key, nonce, plain, sealed_raw); }},
                            {"openssl", [&] { openssl_seal(key, nonce, plain, sealed_ssl); }}},
                           rounds, 0.0);
  // Decryption of what was just sealed, checked to authenticate.
  const auto open_t = keel::bench::compare({{"op 1 thread", op_open(1)},
                                            {"op all threads", op_open(0)},
                                            {"crypto++",
                                             [&] {
                                               if (!crypto_pp_open(key, nonce, sealed_raw, back))
                                                 throw std::runtime_error("crypto++ open");
                                             }},
                                            {"openssl",
                                             [&] {
                                               if (!openssl_open(key, nonce, sealed_ssl, back))
                                                 throw std::runtime_error("openssl open");
                                             }}},
                                           rounds, 0.0);
  if (back != plain) throw std::runtime_error("decryption did not give the plaintext back");
  enc::set_max_threads(0);
  std::printf("{\"bytes\": %zu, \"threads\": %u, \"chunk\": %u,\n", kSize, all, kChunk);
  for (int d = 0; d < 2; ++d) {
    const auto& t = d == 0 ? seal_t : open_t;
    std::printf(" \"%s\": {\"op_1\": %.4f, \"op_all\": %.4f, \"cryptopp\": %.4f, \"openssl\": %.4f}%s\n",
                d == 0 ? "encrypt" : "decrypt", gbps(t[0]), gbps(t[1]), gbps(t[2]), gbps(t[3]),
                d == 0 ? "," : "}");
  }
  return 0;
}
