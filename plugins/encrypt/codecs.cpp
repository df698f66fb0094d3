#include "codecs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "container.hpp"
#include "fernet.hpp"
#include "key_file.hpp"

namespace keel::encrypt {

namespace {

constexpr char kContainerMagic[] = "KEELENC1";
// Every Fernet token starts with the version byte 0x80 and the high bytes of
// a 64-bit timestamp, which are zero until the year 36812: "gAAAAA" in base64.
constexpr char kFernetPrefix[] = "gAAAAA";

bool starts_with(std::span<const std::uint8_t> head, const char* prefix) {
  const std::size_t n = std::strlen(prefix);
  return head.size() >= n && std::memcmp(head.data(), prefix, n) == 0;
}

// Runs a codec call, turning any exception into a failed Status: nothing
// thrown here crosses the plugin boundary.
template <class F>
Status guarded(F&& f) {
  try {
    f();
  } catch (const std::bad_alloc&) {
    return fail("out of memory");
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return Status::Ok();
}

// The stream's length, found by seeking; the position is restored. -1 when
// the stream cannot seek.
std::int64_t stream_length(std::istream& in) {
  const auto start = in.tellg();
  if (start < 0 || !in.seekg(0, std::ios::end)) {
    in.clear();
    return -1;
  }
  const auto end = in.tellg();
  in.seekg(start);
  return end < 0 ? -1 : static_cast<std::int64_t>(end - start);
}

std::string read_all(std::istream& in) {
  std::string s{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw std::runtime_error("cannot read the input");
  return s;
}

void write_bytes(std::ostream& out, const void* p, std::size_t n) {
  errno = 0;  // a stream keeps no error code: errno after the failed write is the reason
  out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
  if (!out)
    throw std::runtime_error(std::string("cannot write the output: ") + std::strerror(errno ? errno : EIO));
}

Status write_key_file_text(std::ostream& out) {
  return guarded([&] {
    const CryptoPP::SecByteBlock text = new_key_file_text();
    write_bytes(out, text.data(), text.size());
  });
}

Status check_key_source(const KeySource& key, bool passphrase_allowed) {
  return guarded([&] {
    if (!key.key_file.empty() && !key.passphrase_env.empty())
      throw std::runtime_error("give a key file or a passphrase variable, not both");
    if (!key.key_file.empty()) {
      (void)load_key_file(key.key_file);
    } else if (!key.passphrase_env.empty()) {
      if (!passphrase_allowed)
        throw std::runtime_error("Fernet needs a key file; a passphrase cannot be used");
      (void)load_passphrase_env(key.passphrase_env);
    } else {
      throw std::runtime_error("no key given");
    }
  });
}

ContainerKey container_key(const KeySource& key) {
  ContainerKey k;
  if (!key.key_file.empty()) {
    k.kind = ContainerKey::Kind::raw;
    k.secret = load_key_file(key.key_file);
  } else if (!key.passphrase_env.empty()) {
    k.kind = ContainerKey::Kind::passphrase;
    k.secret = load_passphrase_env(key.passphrase_env);
  } else {
    throw std::runtime_error("no key given");
  }
  return k;
}

class ContainerCodec final : public Codec {
 public:
  bool recognizes(std::span<const std::uint8_t> head) const override {
    return starts_with(head, kContainerMagic);
  }
  Status check_key(const KeySource& key) const override { return check_key_source(key, true); }

  Status seal(std::istream& in, std::ostream& out, const CodecOptions& o) override {
    return guarded([&] {
      const ContainerKey key = container_key(o.key);
      const std::int64_t n = stream_length(in);
      if (n >= 0) {
        encrypt_stream(key, in, static_cast<std::uint64_t>(n), out);
      } else {
        std::istringstream whole(read_all(in));
        encrypt_stream(key, whole, static_cast<std::uint64_t>(whole.str().size()), out);
      }
    });
  }

  Status open(std::istream& in, std::ostream& out, const CodecOptions& o) override {
    return guarded([&] {
      const ContainerKey key = container_key(o.key);
      const std::int64_t n = stream_length(in);
      if (n >= 0) {
        decrypt_stream(key, in, static_cast<std::uint64_t>(n), out);
      } else {
        std::istringstream whole(read_all(in));
        decrypt_stream(key, whole, static_cast<std::uint64_t>(whole.str().size()), out);
      }
    });
  }

  Status keygen(std::ostream& out) override { return write_key_file_text(out); }

  // Regular files are mapped and processed in place by all workers.
  bool files_supported() const override { return true; }
  Status seal_files(int in_fd, int out_fd, const CodecOptions& o) override {
    return guarded([&] { encrypt_fd(container_key(o.key), in_fd, out_fd); });
  }
  Status open_files(int in_fd, int out_fd, const CodecOptions& o) override {
    return guarded([&] { decrypt_fd(container_key(o.key), in_fd, out_fd); });
  }
};

class FernetCodec final : public Codec {
 public:
  bool recognizes(std::span<const std::uint8_t> head) const override {
    return starts_with(head, kFernetPrefix);
  }
  Status check_key(const KeySource& key) const override { return check_key_source(key, false); }

  Status seal(std::istream& in, std::ostream& out, const CodecOptions& o) override {
    return guarded([&] {
      const FernetKey key = fernet_key(o.key);
      const std::string plain = read_all(in);
      const std::string token =
          fernet_encrypt(key, ByteSpan(reinterpret_cast<const std::uint8_t*>(plain.data()), plain.size()));
      write_bytes(out, token.data(), token.size());
    });
  }

  Status open(std::istream& in, std::ostream& out, const CodecOptions& o) override {
    return guarded([&] {
      const FernetKey key = fernet_key(o.key);
      std::string token = read_all(in);
      // A token saved by `echo` or an editor ends with a newline; the token
      // alphabet has no whitespace, so dropping it is unambiguous.
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
        token.pop_back();
      std::optional<std::int64_t> ttl;
      if (o.ttl_seconds >= 0) ttl = o.ttl_seconds;
      const Bytes plain = fernet_decrypt(key, token, ttl);
      write_bytes(out, plain.data(), plain.size());
    });
  }

  Status keygen(std::ostream& out) override { return write_key_file_text(out); }

 private:
  static FernetKey fernet_key(const KeySource& key) {
    if (key.key_file.empty())
      throw std::runtime_error("Fernet needs a key file; a passphrase cannot be used");
    const CryptoPP::SecByteBlock raw = load_key_file(key.key_file);
    return FernetKey::from_raw(ByteSpan(raw.data(), raw.size()));
  }
};

}  // namespace

std::unique_ptr<Codec> make_container_codec() { return std::make_unique<ContainerCodec>(); }
std::unique_ptr<Codec> make_fernet_codec() { return std::make_unique<FernetCodec>(); }

}  // namespace keel::encrypt
