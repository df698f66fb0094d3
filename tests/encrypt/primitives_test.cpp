// The primitives against published vectors: AES-256-GCM test cases 13-16 of
// McGrew & Viega's GCM specification (also NIST's), scrypt from RFC 7914.
#include "primitives.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

using enctest::Bytes;
using enctest::from_hex;
using enctest::to_hex;
namespace enc = keel::encrypt;

namespace {

struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* aad;
  const char* plaintext;
  const char* ciphertext;
  const char* tag;
};

const char* const kKey15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
const char* const kIv15 = "cafebabefacedbaddecaf888";
const char* const kP15 =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
    "b16aedf5aa0de657ba637b391aafd255";
const char* const kC15 =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838"
    "c5f61e6393ba7a0abcc9f662898015ad";

const GcmVector kGcmVectors[] = {
    {"test case 13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"test case 14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"test case 15", kKey15, kIv15, "", kP15, kC15, "b094dac5d93471bdec1a502270e3cc6c"},
    {"test case 16", kKey15, kIv15, "feedfacedeadbeeffeedfacedeadbeefabaddad2", kP15, kC15,
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

}  // namespace

TEST_CASE("AES-256-GCM matches the GCM specification's test cases 13 to 16, both ways") {
  for (const auto& v : kGcmVectors) {
    INFO(v.name);
    const Bytes key = from_hex(v.key), iv = from_hex(v.iv), aad = from_hex(v.aad);
    Bytes plaintext = from_hex(v.plaintext);
    Bytes expected_ct = from_hex(v.ciphertext);
    // Test case 16 uses the first 60 bytes of case 15's plaintext.
    if (std::string(v.name) == "test case 16") {
      plaintext.resize(60);
      expected_ct.resize(60);
    }
    Bytes sealed(plaintext.size() + enc::kTagSize);
    enc::aes256_gcm_seal(key, iv, aad, plaintext, sealed.data());
    CHECK(to_hex(sealed) == to_hex(expected_ct) + v.tag);

    Bytes opened(plaintext.size());
    CHECK(enc::aes256_gcm_open(key, iv, aad, sealed, opened.data()));
    CHECK(opened == plaintext);
  }
}

TEST_CASE("AES-256-GCM open rejects a flipped tag, ciphertext or AAD bit and zeroes its output") {
  const auto& v = kGcmVectors[3];
  const Bytes key = from_hex(v.key), iv = from_hex(v.iv), aad = from_hex(v.aad);
  Bytes sealed = from_hex(std::string(v.ciphertext).substr(0, 120) + v.tag);
  Bytes opened(60, 0xAA);
  for (std::size_t byte : {std::size_t{0}, std::size_t{59}, std::size_t{60}, std::size_t{75}}) {
    INFO("byte " << byte);
    Bytes bad = sealed;
    bad[byte] ^= 0x01;
    CHECK_FALSE(enc::aes256_gcm_open(key, iv, aad, bad, opened.data()));
    CHECK(opened == Bytes(60, 0));
  }
  Bytes bad_aad = aad;
  bad_aad.back() ^= 0x80;
  CHECK_FALSE(enc::aes256_gcm_open(key, iv, bad_aad, sealed, opened.data()));
  CHECK(enc::aes256_gcm_open(key, iv, aad, sealed, opened.data()));
}

TEST_CASE("scrypt matches RFC 7914's vectors for N=16 and N=1024") {
  const auto a = enc::scrypt("", {}, 4, 1, 1, 64);
  CHECK(to_hex(Bytes(a.begin(), a.end())) ==
        "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
        "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  const std::string salt = "NaCl";
  const auto b = enc::scrypt("password", {reinterpret_cast<const std::uint8_t*>(salt.data()), salt.size()},
                             10, 8, 16, 64);
  CHECK(to_hex(Bytes(b.begin(), b.end())) ==
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
        "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}
