// The encrypt and decrypt ops, made by the built keel_encrypt.so's own
// factories (loaded as a runner loads it), through infer, prepare and
// forward, with a key file written by Python's Fernet.generate_key().
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <map>

#include "base64url.hpp"
#include "container.hpp"
#include "encrypt_ops.hpp"
#include "plugin_module.hpp"
#include "plugin_ops.hpp"
#include "test_support.hpp"

using enctest::Bytes;
using enctest::pattern;
using optest::op_maker;
namespace enc = keel::encrypt;

namespace {

struct RunResult {
  keel::Status status;
  keel::TensorSpec out_spec;
  Bytes out;
};

// infer -> prepare -> forward with buffers owned here; stops at the first failure.
RunResult run(const keel::OpMaker& factory, const keel::Attrs& attrs, const keel::TensorSpec& in_spec,
              const Bytes& in_bytes) {
  RunResult r;
  auto op = factory(attrs);
  std::vector<keel::TensorSpec> inputs{in_spec};
  keel::InferContext ictx{inputs, {}, {}};
  r.status = op->infer(ictx);
  if (!r.status.ok()) return r;
  REQUIRE(ictx.outputs.size() == 1);
  r.out_spec = ictx.outputs[0];
  r.status = op->prepare(keel::PrepareContext{inputs, ictx.outputs, {}, false});
  if (!r.status.ok()) return r;
  r.out.assign(static_cast<std::size_t>(keel::numel(r.out_spec.shape)), 0);
  std::vector<keel::ConstTensorView> in_views{{in_spec.dtype, in_spec.shape, in_bytes.data()}};
  std::vector<keel::TensorView> out_views{{r.out_spec.dtype, r.out_spec.shape, r.out.data()}};
  keel::ForwardContext fctx{in_views, out_views, {}, false, 0, 0};
  r.status = op->forward(fctx);
  return r;
}

keel::Attrs attrs(const std::string& key_file, std::int64_t chunk_size) {
  return keel::Attrs({{"key_file", key_file}, {"chunk_size", chunk_size}});
}

keel::TensorSpec u8(std::int64_t n) { return {keel::DType::u8, {n}}; }

}  // namespace

TEST_CASE("plaintext_size inverts container_size and rejects every length no plaintext produces") {
  for (std::uint32_t c : {1u, 3u, 16u, 64u}) {
    std::map<std::uint64_t, std::uint64_t> naive;  // container length -> plaintext length
    for (std::uint64_t n = 0; n < 600; ++n) naive[enc::container_size(n, c)] = n;
    for (std::uint64_t m = 0; m < enc::container_size(500, c); ++m) {
      INFO("chunk " << c << " length " << m);
      const auto it = naive.find(m);
      const auto got = enc::plaintext_size(m, c);
      CHECK(got.has_value() == (it != naive.end()));
      if (got && it != naive.end()) CHECK(*got == it->second);
    }
  }
}

TEST_CASE("the encrypt plugin registers encrypt and decrypt, which round-trip a tensor's bytes") {
  enctest::TempDir dir;
  const std::string key_text =
      enctest::python("from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())");
  const std::string key_file = dir.file("demo.key");
  std::ofstream(key_file) << key_text << "\n";
  std::filesystem::permissions(key_file,
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  plugintest::PluginModule module(KEEL_ENCRYPT_PLUGIN_PATH);
  CHECK(std::string(module.table()->name) == "encrypt");
  auto reg = module.registered();
  REQUIRE(reg.order == std::vector<std::string>{"encrypt", "decrypt"});
  for (const auto& [name, s] : reg.schemas) {
    CHECK_FALSE(s.has_backward);
    CHECK_FALSE(s.doc.empty());
    for (const auto& a : s.attrs) CHECK_FALSE(a.doc.empty());
  }

  // An f32 [3, 5] tensor is 60 bytes: one chunk of 32, one of 28.
  const keel::TensorSpec x{keel::DType::f32, {3, 5}};
  const Bytes plain = pattern(60, 4);
  const auto enc_run = run(reg.factories.at("encrypt"), attrs(key_file, 32), x, plain);
  REQUIRE(enc_run.status.ok());
  CHECK(enc_run.out_spec == u8(56 + 60 + 2 * 16));

  // The key file's bytes are the container key: check with the library.
  const Bytes raw_key = *enc::base64url_decode(key_text);
  CHECK(enc::decrypt_bytes(raw_key, enc_run.out) == plain);

  const auto dec_run = run(reg.factories.at("decrypt"), attrs(key_file, 32), u8(148), enc_run.out);
  REQUIRE(dec_run.status.ok());
  CHECK(dec_run.out_spec == u8(60));
  CHECK(dec_run.out == plain);

  SECTION("every dtype, empty tensors and a multi-gigabyte shape") {
    // Python's reader (independent of the plugin) recovers each tensor's
    // bytes from the op's container; decrypt gives them back too.
    std::vector<std::string> reader_args{enctest::kPythonContainerReader};
    std::vector<Bytes> expected;
    for (keel::DType t : {keel::DType::f32, keel::DType::f64, keel::DType::i32, keel::DType::i64,
                          keel::DType::u8, keel::DType::boolean}) {
      for (const keel::Shape& shape : {keel::Shape{2, 3, 7}, keel::Shape{0, 4}, keel::Shape{}}) {
        INFO(keel::dtype_name(t) << " " << keel::shape_str(shape));
        const keel::TensorSpec spec{t, shape};
        const std::size_t bytes = static_cast<std::size_t>(keel::numel(shape)) * keel::dtype_size(t);
        Bytes data = pattern(bytes, 9);
        if (t == keel::DType::boolean)
          for (auto& b : data) b &= 1;
        const auto e = run(reg.factories.at("encrypt"), attrs(key_file, 40), spec, data);
        REQUIRE(e.status.ok());
        const std::string c = dir.file("c" + std::to_string(expected.size()));
        enctest::write_file(c, e.out);
        for (const std::string& a : {enctest::to_hex(raw_key), std::string("raw"), c, c + ".plain"})
          reader_args.push_back(a);
        expected.push_back(data);
        const auto back = run(reg.factories.at("decrypt"), attrs(key_file, 40), e.out_spec, e.out);
        REQUIRE(back.status.ok());
        CHECK(back.out == data);
      }
    }
    enctest::python(enctest::kPythonContainerReaderLoop, reader_args);
    for (std::size_t i = 0; i < expected.size(); ++i)
      CHECK(enctest::read_file(dir.file("c" + std::to_string(i) + ".plain")) == expected[i]);
    // Shapes are inferred without any data: a [65536, 32768] f32 tensor is
    // 8 GiB, and the container length is the documented formula, in 64 bits.
    const std::vector<keel::TensorSpec> big{keel::TensorSpec{keel::DType::f32, {65536, 32768}}};
    keel::InferContext ictx{big, {}, {}};
    REQUIRE(op_maker("encrypt")(attrs(key_file, 1 << 20))->infer(ictx).ok());
    const std::int64_t n = std::int64_t{65536} * 32768 * 4;
    CHECK(ictx.outputs[0] == u8(56 + n + 16 * (n >> 20)));
  }
  SECTION("a tampered container fails forward with the authentication message") {
    Bytes bad = enc_run.out;
    bad[100] ^= 1;
    const auto r = run(reg.factories.at("decrypt"), attrs(key_file, 32), u8(148), bad);
    CHECK(r.status.message() == std::string("decrypt: ") + enc::kAuthFailed);
  }
  SECTION("a container read with another chunk size is caught") {
    // 148 bytes is also a valid length for chunk size 16 (n = 44), so only
    // the header can tell.
    const auto r = run(reg.factories.at("decrypt"), attrs(key_file, 16), u8(148), enc_run.out);
    CHECK(r.out_spec == u8(44));
    CHECK(r.status.message() ==
          "decrypt: the container holds 60 bytes, not the 44 its length implies with chunk_size 16 (it was "
          "written with another chunk size)");
  }
  SECTION("a length no container has fails at infer") {
    const auto r = run(reg.factories.at("decrypt"), attrs(key_file, 32), u8(71), Bytes(71));
    CHECK(r.status.message() ==
          "decrypt: no container with chunk_size 32 is 71 bytes long (wrong chunk_size, or not a container)");
  }
  SECTION("a symbolic input length fails at infer") {
    const auto r = run(reg.factories.at("encrypt"), attrs(key_file, 32), u8(keel::symbolic_dim(0)), {});
    CHECK(r.status.message() == "encrypt: needs a static input shape, got [?]");
  }
  SECTION("missing and malformed key files fail at prepare, naming the file") {
    const auto missing = run(reg.factories.at("encrypt"), attrs(dir.file("nope.key"), 32), x, plain);
    CHECK(missing.status.message() ==
          "cannot open key file '" + dir.file("nope.key") + "': No such file or directory");
    std::ofstream(dir.file("short.key")) << "c2hvcnQ=\n";
    std::filesystem::permissions(dir.file("short.key"), std::filesystem::perms::owner_read);
    const auto shortkey = run(reg.factories.at("encrypt"), attrs(dir.file("short.key"), 32), x, plain);
    CHECK(shortkey.status.message() ==
          "key file '" + dir.file("short.key") + "' must hold one line of url-safe base64 encoding 32 bytes");
  }
  SECTION("a key file that others may read fails at prepare, saying how to fix it") {
    std::filesystem::permissions(key_file, static_cast<std::filesystem::perms>(0604));
    const auto r = run(reg.factories.at("encrypt"), attrs(key_file, 32), x, plain);
    CHECK(r.status.message() ==
          "key file '" + key_file +
              "' is accessible by group or others (mode 0604); protect it with: chmod 600 " + key_file);
  }
}
