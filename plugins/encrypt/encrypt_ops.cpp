#include "encrypt_ops.hpp"

#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "container.hpp"
#include "key_file.hpp"

namespace keel::encrypt {

namespace {

constexpr std::uint64_t kMaxOpChunks = std::uint64_t{1} << 31;

std::vector<AttrSpec> common_attrs() {
  return {
      {"key_file",
       AttrType::String,
       "path of a key file: one line of url-safe base64 encoding 32 bytes (a Fernet key)",
       std::nullopt,
       {},
       {},
       {}},
      {"chunk_size",
       AttrType::Int,
       "bytes per authenticated chunk (decrypt: the size the file was written with)",
       AttrValue{std::int64_t{kDefaultChunkSize}},
       1.0,
       2147483647.0,
       {}},
  };
}

Status static_length(const char* op, const TensorSpec& x, std::uint64_t& bytes) {
  if (!is_static(x.shape)) return fail(op, ": needs a static input shape, got ", shape_str(x.shape));
  bytes = static_cast<std::uint64_t>(numel(x.shape)) * dtype_size(x.dtype);
  return Status::Ok();
}

// Shared by both ops: the key is read when shapes bind, not at construction
// (factories allocate nothing) and not per step.
class KeyedOp : public Op {
 public:
  explicit KeyedOp(const Attrs& a)
      : key_file_(a.s("key_file")), chunk_size_(static_cast<std::uint32_t>(a.i("chunk_size"))) {}

  Status prepare(const PrepareContext&) override {
    try {
      key_ = load_key_file(key_file_);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
    return Status::Ok();
  }

 protected:
  Status need_key(const char* op) const {
    if (key_.size() != kKeySize) return fail(op, ": forward called before prepare");
    return Status::Ok();
  }
  ByteSpan key() const { return {key_.data(), key_.size()}; }

  std::string key_file_;
  std::uint32_t chunk_size_;
  CryptoPP::SecByteBlock key_;
};

class EncryptOp final : public KeyedOp {
 public:
  using KeyedOp::KeyedOp;

  Status infer(InferContext& ctx) const override {
    std::uint64_t n = 0;
    KEEL_RETURN_IF_ERROR(static_length("encrypt", ctx.inputs[0], n));
    const std::uint64_t chunks = n == 0 ? 1 : (n - 1) / chunk_size_ + 1;
    if (chunks > kMaxOpChunks) return fail("encrypt: too many chunks; raise chunk_size");
    ctx.outputs = {TensorSpec{DType::u8, {static_cast<Dim>(container_size(n, chunk_size_))}}};
    return Status::Ok();
  }

  // Every run draws a fresh nonce prefix: a container must never be
  // reproducible from the graph seed, or two runs would reuse nonces.
  Status forward(const ForwardContext& ctx) override {
    KEEL_RETURN_IF_ERROR(need_key("encrypt"));
    const ConstTensorView& x = ctx.inputs[0];
    const std::uint64_t n = x.nbytes();
    if (container_size(n, chunk_size_) != ctx.outputs[0].nbytes())
      return fail("encrypt: container of ", container_size(n, chunk_size_),
                  " bytes does not fit the output of ", ctx.outputs[0].nbytes());
    // Straight into the output: no intermediate copy of a large tensor.
    encrypt_into(key(), ByteSpan(static_cast<const std::uint8_t*>(x.data), n), chunk_size_,
                 static_cast<std::uint8_t*>(ctx.outputs[0].data));
    return Status::Ok();
  }
};

class DecryptOp final : public KeyedOp {
 public:
  using KeyedOp::KeyedOp;

  Status infer(InferContext& ctx) const override {
    const TensorSpec& x = ctx.inputs[0];
    if (x.dtype != DType::u8 || x.shape.size() != 1)
      return fail("decrypt: input must be u8 of rank 1 (a container's bytes), got ", dtype_name(x.dtype), " ",
                  shape_str(x.shape));
    std::uint64_t m = 0;
    KEEL_RETURN_IF_ERROR(static_length("decrypt", x, m));
    const auto n = plaintext_size(m, chunk_size_);
    if (!n)
      return fail("decrypt: no container with chunk_size ", chunk_size_, " is ", m,
                  " bytes long (wrong chunk_size, or not a container)");
    ctx.outputs = {TensorSpec{DType::u8, {static_cast<Dim>(*n)}}};
    return Status::Ok();
  }

  Status forward(const ForwardContext& ctx) override {
    KEEL_RETURN_IF_ERROR(need_key("decrypt"));
    const ConstTensorView& x = ctx.inputs[0];
    std::uint64_t held = 0;
    try {
      held = decrypt_into(key(), ByteSpan(static_cast<const std::uint8_t*>(x.data), x.nbytes()),
                          static_cast<std::uint8_t*>(ctx.outputs[0].data), ctx.outputs[0].nbytes());
    } catch (const std::exception& e) {
      return fail("decrypt: ", e.what());
    }
    if (held != ctx.outputs[0].nbytes())
      return fail("decrypt: the container holds ", held, " bytes, not the ", ctx.outputs[0].nbytes(),
                  " its length implies with chunk_size ", chunk_size_,
                  " (it was written with another chunk size)");
    return Status::Ok();
  }
};

}  // namespace

std::uint64_t container_size(std::uint64_t n, std::uint32_t chunk_size) {
  const std::uint64_t chunks = n == 0 ? 1 : (n - 1) / chunk_size + 1;
  return kHeaderSize + n + chunks * kTagSize;
}

std::optional<std::uint64_t> plaintext_size(std::uint64_t m, std::uint32_t chunk_size) {
  if (chunk_size == 0 || m < kHeaderSize + kTagSize) return std::nullopt;
  const std::uint64_t body = m - kHeaderSize;
  // Each full chunk costs chunk_size + 16 bytes and the last one at least 17
  // (or exactly 16 when the plaintext is empty), so the chunk count is
  // body / (chunk_size + 16) rounded up.
  const std::uint64_t stride = std::uint64_t{chunk_size} + kTagSize;
  const std::uint64_t chunks = (body + stride - 1) / stride;
  const std::uint64_t n = body - chunks * kTagSize;
  if (container_size(n, chunk_size) != m) return std::nullopt;
  return n;
}

// A key for the schemas' examples (bytes 0..31), which the conformance
// check writes to a scratch folder; never a key to use.
constexpr const char* kExampleKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";

OpSchema encrypt_schema() {
  OpSchema s{"encrypt",
             "encrypts a tensor's bytes (C order) into a Keel container, AES-256-GCM in authenticated chunks",
             {{"x", "any static tensor; its raw bytes are encrypted", false}},
             {{"y", "u8 [m]: the container (docs/encryption.md)", true}},
             common_attrs(),
             {},
             false};
  s.deterministic = false;  // every run draws a fresh nonce prefix
  // Static shapes: the container's length depends on every dimension.
  s.examples = {{.attrs = {{"key_file", std::string("example.key")}, {"chunk_size", std::int64_t{8}}},
                 .inputs = {{{DType::f32, {2, 3}}}},
                 .files = {{"example.key", kExampleKey}}}};
  return s;
}

// The 12 bytes 7, 14, ..., 84 sealed with kExampleKey in 8-byte chunks
// (container format v1). If the format changes, regenerate it: run a graph
// whose encrypt node (key_file: the key above, chunk_size: 8) seals a u8
// [12] input of those values, and paste the output's bytes here.
const std::vector<double> kExampleContainer = {
    75, 69,  69,  76,  69,  78,  67,  49,  1,   1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   94,  30,  166, 119,
    77, 168, 122, 125, 8,   0,   0,   0,   12,  0,   0,   0,   0,   0,   0,   0,   27,  26,  215, 82,
    60, 167, 252, 94,  0,   122, 205, 226, 118, 7,   224, 189, 128, 162, 48,  199, 129, 163, 221, 148,
    89, 83,  120, 196, 138, 83,  208, 126, 194, 225, 103, 176, 130, 90,  234, 191, 108, 242, 39,  205,
};

OpSchema decrypt_schema() {
  OpSchema s{"decrypt",
             "decrypts and authenticates a Keel container into its plaintext bytes",
             {{"x", "u8 [m]: a container written with the same key and chunk_size", false}},
             {{"y", "u8 [n]: the plaintext bytes", true}},
             common_attrs(),
             {},
             false};
  ExampleInput container;
  container.spec = {DType::u8, {static_cast<Dim>(kExampleContainer.size())}};
  container.values = kExampleContainer;
  OpExample ex;
  ex.attrs = {{"key_file", std::string("example.key")}, {"chunk_size", std::int64_t{8}}};
  ex.inputs = {container};
  ex.files = {{"example.key", kExampleKey}};
  OpExample other_key = ex;
  other_key.doc = "a key the container was not sealed with";
  other_key.files = {{"example.key", "AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"}};
  other_key.rejects = "decrypt: ";
  s.examples = {ex, other_key};
  return s;
}

std::unique_ptr<Op> make_encrypt(const Attrs& attrs) { return make_op<EncryptOp>(attrs); }
std::unique_ptr<Op> make_decrypt(const Attrs& attrs) { return make_op<DecryptOp>(attrs); }

}  // namespace keel::encrypt
