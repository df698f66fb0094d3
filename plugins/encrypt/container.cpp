#include "container.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace keel::encrypt {

namespace {

constexpr std::array<std::uint8_t, 8> kMagic{'K', 'E', 'E', 'L', 'E', 'N', 'C', '1'};
constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kAlgAes256Gcm = 1;
constexpr std::uint8_t kKdfRawKey = 0;
constexpr std::uint8_t kKdfScrypt = 1;
constexpr std::size_t kSaltSize = 16;
constexpr std::size_t kPrefixSize = 8;
constexpr std::uint32_t kLastChunkFlag = 0x80000000u;
// The counter has 31 bits once the last-chunk flag is taken.
constexpr std::uint64_t kMaxChunks = std::uint64_t{1} << 31;
// Bounds on what a header may ask scrypt for, so a hostile file costs at
// most about 2 s and 256 MiB to reject (a wrong passphrase is only found
// after deriving the key). scrypt's work is N*r*p blocks of 128 bytes and its
// memory 128*r*N bytes (plus 128*r*p): bounding the work at 2^21 bounds the
// memory at 256 MiB too. 2^21 is N = 2^18, r = 8, p = 1, which took 2 s on
// the loaded 2-core development machine; the default (2^15, 8, 1) is 1/8.
constexpr unsigned kMaxLog2N = 20;
constexpr std::uint32_t kMaxR = 32;
constexpr std::uint32_t kMaxP = 16;
constexpr std::uint64_t kMaxScryptWork = std::uint64_t{1} << 21;  // N*r*p

// Field offsets, in the order docs/encryption.md lists them.
constexpr std::size_t kOffVersion = 8, kOffAlg = 9, kOffKdf = 10, kOffLog2N = 11, kOffR = 12, kOffP = 16,
                      kOffSalt = 20, kOffPrefix = 36, kOffChunkSize = 44, kOffLength = 48;
static_assert(kOffLength + 8 == kHeaderSize);

struct Header {
  std::uint8_t kdf = kKdfRawKey;
  ScryptParams scrypt;
  std::array<std::uint8_t, kSaltSize> salt{};
  std::array<std::uint8_t, kPrefixSize> prefix{};
  std::uint32_t chunk_size = kDefaultChunkSize;
  std::uint64_t length = 0;
};

void put_le(std::uint8_t* p, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint64_t get_le(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= std::uint64_t{p[i]} << (8 * i);
  return v;
}

std::uint64_t chunk_count(std::uint64_t length, std::uint32_t chunk_size) {
  return length == 0 ? 1 : (length - 1) / chunk_size + 1;
}

void check_scrypt_params(const ScryptParams& s) {
  // Each factor is bounded first, so the product cannot overflow.
  if (s.log2_n < 1 || s.log2_n > kMaxLog2N || s.r < 1 || s.r > kMaxR || s.p < 1 || s.p > kMaxP ||
      (std::uint64_t{1} << s.log2_n) * s.r * s.p > kMaxScryptWork)
    throw std::runtime_error("unsupported scrypt parameters: log2(N)=" + std::to_string(s.log2_n) +
                             " r=" + std::to_string(s.r) + " p=" + std::to_string(s.p) +
                             " (limits: log2(N) 1..20, r 1..32, p 1..16, N*r*p at most 2^21, i.e. at most "
                             "256 MiB and about 2 s)");
}

void write_header(const Header& h, std::uint8_t* out) {
  std::memcpy(out, kMagic.data(), kMagic.size());
  out[kOffVersion] = kVersion;
  out[kOffAlg] = kAlgAes256Gcm;
  out[kOffKdf] = h.kdf;
  const bool scrypt = h.kdf == kKdfScrypt;
  out[kOffLog2N] = static_cast<std::uint8_t>(scrypt ? h.scrypt.log2_n : 0);
  put_le(out + kOffR, scrypt ? h.scrypt.r : 0, 4);
  put_le(out + kOffP, scrypt ? h.scrypt.p : 0, 4);
  std::memcpy(out + kOffSalt, h.salt.data(), kSaltSize);
  std::memcpy(out + kOffPrefix, h.prefix.data(), kPrefixSize);
  put_le(out + kOffChunkSize, h.chunk_size, 4);
  put_le(out + kOffLength, h.length, 8);
}

// Checks everything that can be checked before authentication, including
// that the file is exactly as long as the header says, so no buffer is sized
// by a length the file does not back. `in` is the file's first bytes (all of
// them, or at least kHeaderSize), `total` the file's length.
Header read_header(ByteSpan in, std::uint64_t total) {
  if (total == 0) throw std::runtime_error("empty file: not a Keel encrypted file");
  const std::size_t seen = std::min(in.size(), kMagic.size());
  if (!std::equal(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(seen), kMagic.begin()))
    throw std::runtime_error(kBadMagic);
  if (in.size() <= kOffVersion) throw std::runtime_error(kTruncatedHeader);
  if (in[kOffVersion] != kVersion)
    throw std::runtime_error("unsupported version " + std::to_string(in[kOffVersion]) +
                             " (this build reads version 1)");
  if (in.size() < kHeaderSize) throw std::runtime_error(kTruncatedHeader);
  if (in[kOffAlg] != kAlgAes256Gcm)
    throw std::runtime_error("unsupported algorithm " + std::to_string(in[kOffAlg]));
  Header h;
  h.kdf = in[kOffKdf];
  if (h.kdf != kKdfRawKey && h.kdf != kKdfScrypt)
    throw std::runtime_error("unsupported key derivation " + std::to_string(h.kdf));
  h.scrypt.log2_n = in[kOffLog2N];
  h.scrypt.r = static_cast<std::uint32_t>(get_le(in.data() + kOffR, 4));
  h.scrypt.p = static_cast<std::uint32_t>(get_le(in.data() + kOffP, 4));
  std::memcpy(h.salt.data(), in.data() + kOffSalt, kSaltSize);
  std::memcpy(h.prefix.data(), in.data() + kOffPrefix, kPrefixSize);
  h.chunk_size = static_cast<std::uint32_t>(get_le(in.data() + kOffChunkSize, 4));
  h.length = get_le(in.data() + kOffLength, 8);
  if (h.chunk_size == 0) throw std::runtime_error("invalid chunk size 0");
  const std::uint64_t body = total - kHeaderSize;
  if (h.length > body) throw std::runtime_error(kTruncatedChunk);
  const std::uint64_t chunks = chunk_count(h.length, h.chunk_size);
  if (chunks > kMaxChunks) throw std::runtime_error("too many chunks");
  const std::uint64_t expected = h.length + chunks * kTagSize;
  if (body < expected) throw std::runtime_error(kTruncatedChunk);
  if (body > expected) throw std::runtime_error(kTrailingData);
  return h;
}

Header read_header(ByteSpan in) { return read_header(in, in.size()); }

std::array<std::uint8_t, kNonceSize> chunk_nonce(const Header& h, std::uint64_t index, std::uint64_t chunks) {
  std::array<std::uint8_t, kNonceSize> n{};
  std::memcpy(n.data(), h.prefix.data(), kPrefixSize);
  std::uint32_t counter = static_cast<std::uint32_t>(index);
  if (index + 1 == chunks) counter |= kLastChunkFlag;
  for (int i = 0; i < 4; ++i)
    n[kPrefixSize + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(counter >> (24 - 8 * i));
  return n;
}

// Runs work(i) for every chunk, split into contiguous ranges over threads.
// Returns false if any call returned false; rethrows the first exception.
bool for_each_chunk(std::uint64_t chunks, const std::function<bool(std::uint64_t)>& work) {
  const unsigned workers = worker_count(chunks);
  if (workers <= 1) {
    bool ok = true;
    for (std::uint64_t i = 0; i < chunks; ++i) ok = work(i) && ok;
    return ok;
  }
  std::atomic<bool> ok{true};
  std::exception_ptr error;
  std::mutex error_mutex;
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (unsigned w = 0; w < workers; ++w) {
    const std::uint64_t begin = chunks * w / workers, end = chunks * (w + 1) / workers;
    threads.emplace_back([&, begin, end] {
      try {
        for (std::uint64_t i = begin; i < end; ++i)
          if (!work(i)) ok = false;
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        ok = false;
      }
    });
  }
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  return ok;
}

// Fills in the header of a new container for `length` plaintext bytes: a
// fresh nonce prefix, and checks of key, chunk size and chunk count.
std::uint64_t start_header(ByteSpan key, Header& h, std::uint64_t length) {
  if (key.size() != kKeySize) throw std::invalid_argument("the key must be 32 bytes");
  if (h.chunk_size == 0) throw std::invalid_argument("the chunk size must be at least 1 byte");
  h.length = length;
  const std::uint64_t chunks = chunk_count(h.length, h.chunk_size);
  if (chunks > kMaxChunks) throw std::invalid_argument("too many chunks: use a larger chunk size");
  random_bytes(h.prefix.data(), h.prefix.size());
  return chunks;
}

// Seals chunks [first, first + count) of a container whose plaintext starts
// at `plaintext` (offset first * chunk_size), writing them at `out` (the
// first of these chunks' position). The header bytes are the AAD.
void seal_chunks(ByteSpan key, const Header& h, ByteSpan aad, std::uint64_t chunks, std::uint64_t first,
                 std::uint64_t count, const std::uint8_t* plaintext, std::uint8_t* out) {
  const std::uint64_t base = first * h.chunk_size;
  for_each_chunk(count, [&](std::uint64_t k) {
    const std::uint64_t i = first + k;
    const std::uint64_t begin = i * h.chunk_size;
    const std::uint64_t len = std::min<std::uint64_t>(h.chunk_size, h.length - begin);
    const auto nonce = chunk_nonce(h, i, chunks);
    aes256_gcm_seal(key, nonce, aad, ByteSpan(plaintext + (begin - base), len),
                    out + (begin - base) + k * kTagSize);
    return true;
  });
}

// Opens chunks [first, first + count) (sealed bytes at `in`) into `out`.
// Returns false, with `out` wiped, if any chunk fails to authenticate.
bool open_chunks(ByteSpan key, const Header& h, ByteSpan aad, std::uint64_t chunks, std::uint64_t first,
                 std::uint64_t count, const std::uint8_t* in, std::uint8_t* out) {
  const std::uint64_t base = first * h.chunk_size;
  const bool ok = for_each_chunk(count, [&](std::uint64_t k) {
    const std::uint64_t i = first + k;
    const std::uint64_t begin = i * h.chunk_size;
    const std::uint64_t len = std::min<std::uint64_t>(h.chunk_size, h.length - begin);
    const auto nonce = chunk_nonce(h, i, chunks);
    return aes256_gcm_open(key, nonce, aad, ByteSpan(in + (begin - base) + k * kTagSize, len + kTagSize),
                           out + (begin - base));
  });
  if (!ok) {
    // Chunks that did verify are wiped too: the file as a whole is rejected.
    const std::uint64_t end = std::min<std::uint64_t>((first + count) * h.chunk_size, h.length);
    if (end > base) std::memset(out, 0, end - base);
  }
  return ok;
}

void seal_into(ByteSpan key, Header h, ByteSpan plaintext, std::uint8_t* out) {
  const std::uint64_t chunks = start_header(key, h, plaintext.size());
  write_header(h, out);
  seal_chunks(key, h, ByteSpan(out, kHeaderSize), chunks, 0, chunks, plaintext.data(), out + kHeaderSize);
}

Bytes seal(ByteSpan key, const Header& h, ByteSpan plaintext) {
  const std::uint64_t chunks =
      plaintext.empty() ? 1 : (plaintext.size() - 1) / std::max(1u, h.chunk_size) + 1;
  Bytes out(kHeaderSize + plaintext.size() + chunks * kTagSize);
  seal_into(key, h, plaintext, out.data());
  return out;
}

Bytes open(ByteSpan key, const Header& h, ByteSpan container) {
  const std::uint64_t chunks = chunk_count(h.length, h.chunk_size);
  Bytes out(h.length);
  if (!open_chunks(key, h, container.first(kHeaderSize), chunks, 0, chunks, container.data() + kHeaderSize,
                   out.data()))
    throw std::runtime_error(kAuthFailed);
  return out;
}

// Chunks per read-process-write round of the streaming functions: about
// 16 MiB, and at least one per worker, so memory stays bounded (two such
// buffers) and every worker has work.
std::uint64_t batch_chunks(std::uint32_t chunk_size) {
  const std::uint64_t by_size = std::max<std::uint64_t>(1, (std::uint64_t{16} << 20) / chunk_size);
  return std::max<std::uint64_t>(by_size, worker_count(~std::uint64_t{0}));
}

void read_exactly(std::istream& in, std::uint8_t* p, std::uint64_t n) {
  in.read(reinterpret_cast<char*>(p), static_cast<std::streamsize>(n));
  if (static_cast<std::uint64_t>(in.gcount()) != n) throw std::runtime_error("the input ended early");
}

void write_all(std::ostream& out, const std::uint8_t* p, std::uint64_t n) {
  errno = 0;  // a stream keeps no error code: errno after the failed write is the reason
  out.write(reinterpret_cast<const char*>(p), static_cast<std::streamsize>(n));
  if (!out)
    throw std::runtime_error(std::string("cannot write the output: ") + std::strerror(errno ? errno : EIO));
}

CryptoPP::SecByteBlock derive_key(const ContainerKey& key, Header& h, bool fresh_salt) {
  if (key.kind == ContainerKey::Kind::raw) {
    if (key.secret.size() != kKeySize) throw std::invalid_argument("the key must be 32 bytes");
    return key.secret;
  }
  if (fresh_salt) random_bytes(h.salt.data(), h.salt.size());
  check_scrypt_params(h.scrypt);
  return scrypt(std::string_view(reinterpret_cast<const char*>(key.secret.data()), key.secret.size()), h.salt,
                h.scrypt.log2_n, h.scrypt.r, h.scrypt.p, kKeySize);
}

}  // namespace

namespace {
std::atomic<unsigned> g_max_threads{0};
}  // namespace

void set_max_threads(unsigned n) { g_max_threads = n; }

unsigned worker_count(std::uint64_t chunks) {
  const unsigned limit = g_max_threads.load();
  const unsigned hw = limit ? limit : std::max(1u, std::thread::hardware_concurrency());
  return static_cast<unsigned>(std::min<std::uint64_t>({hw, chunks, 64}));
}

Bytes encrypt_bytes(ByteSpan key, ByteSpan plaintext, std::uint32_t chunk_size) {
  Header h;
  h.chunk_size = chunk_size;
  return seal(key, h, plaintext);
}

void encrypt_into(ByteSpan key, ByteSpan plaintext, std::uint32_t chunk_size, std::uint8_t* out) {
  Header h;
  h.chunk_size = chunk_size;
  seal_into(key, h, plaintext, out);
}

std::uint64_t decrypt_into(ByteSpan key, ByteSpan container, std::uint8_t* out, std::uint64_t out_size) {
  if (key.size() != kKeySize) throw std::invalid_argument("the key must be 32 bytes");
  const Header h = read_header(container);
  if (h.kdf != kKdfRawKey)
    throw std::runtime_error("this file was encrypted with a passphrase, not a raw key");
  if (h.length != out_size) return h.length;
  const std::uint64_t chunks = chunk_count(h.length, h.chunk_size);
  if (!open_chunks(key, h, container.first(kHeaderSize), chunks, 0, chunks, container.data() + kHeaderSize,
                   out))
    throw std::runtime_error(kAuthFailed);
  return h.length;
}

// What both streaming writers start with: the header of a new container
// (key source, KDF, fresh nonce prefix), its key and its chunk count.
struct NewContainer {
  Header h;
  CryptoPP::SecByteBlock key;
  std::uint64_t chunks = 0;
  std::array<std::uint8_t, kHeaderSize> header{};

  NewContainer(const ContainerKey& source, std::uint64_t length, const ScryptParams& params,
               std::uint32_t chunk_size) {
    h.chunk_size = chunk_size;
    if (source.kind == ContainerKey::Kind::passphrase) {
      h.kdf = kKdfScrypt;
      h.scrypt = params;
    }
    key = derive_key(source, h, true);
    chunks = start_header(ByteSpan(key.data(), key.size()), h, length);
    write_header(h, header.data());
  }
};

void encrypt_stream(const ContainerKey& key, std::istream& in, std::uint64_t length, std::ostream& out,
                    const ScryptParams& params, std::uint32_t chunk_size) {
  NewContainer c(key, length, params, chunk_size);
  const Header& h = c.h;
  const ByteSpan raw(c.key.data(), c.key.size());
  const std::uint64_t chunks = c.chunks;
  const std::array<std::uint8_t, kHeaderSize>& header = c.header;
  write_all(out, header.data(), header.size());
  const std::uint64_t batch = batch_chunks(h.chunk_size);
  Bytes plain, sealed;
  for (std::uint64_t first = 0; first < chunks; first += batch) {
    const std::uint64_t count = std::min(batch, chunks - first);
    const std::uint64_t begin = first * h.chunk_size;
    const std::uint64_t len = std::min<std::uint64_t>(count * h.chunk_size, h.length - begin);
    plain.resize(len);
    sealed.resize(len + count * kTagSize);
    read_exactly(in, plain.data(), len);
    seal_chunks(raw, h, ByteSpan(header.data(), header.size()), chunks, first, count, plain.data(),
                sealed.data());
    write_all(out, sealed.data(), sealed.size());
  }
  std::fill(plain.begin(), plain.end(), std::uint8_t{0});
}

void decrypt_stream(const ContainerKey& key, std::istream& in, std::uint64_t length, std::ostream& out) {
  std::array<std::uint8_t, kHeaderSize> header{};
  const std::uint64_t head = std::min<std::uint64_t>(length, kHeaderSize);
  read_exactly(in, header.data(), head);
  Header h = read_header(ByteSpan(header.data(), head), length);
  const bool passphrase = key.kind == ContainerKey::Kind::passphrase;
  if (h.kdf == kKdfScrypt && !passphrase)
    throw std::runtime_error("this file was encrypted with a passphrase, not a raw key");
  if (h.kdf == kKdfRawKey && passphrase)
    throw std::runtime_error("this file was encrypted with a raw key, not a passphrase");
  const CryptoPP::SecByteBlock k = derive_key(key, h, false);
  const ByteSpan raw(k.data(), k.size());
  const std::uint64_t chunks = chunk_count(h.length, h.chunk_size);
  const std::uint64_t batch = batch_chunks(h.chunk_size);
  Bytes sealed, plain;
  for (std::uint64_t first = 0; first < chunks; first += batch) {
    const std::uint64_t count = std::min(batch, chunks - first);
    const std::uint64_t begin = first * h.chunk_size;
    const std::uint64_t len = std::min<std::uint64_t>(count * h.chunk_size, h.length - begin);
    sealed.resize(len + count * kTagSize);
    plain.resize(len);
    read_exactly(in, sealed.data(), sealed.size());
    if (!open_chunks(raw, h, ByteSpan(header.data(), header.size()), chunks, first, count, sealed.data(),
                     plain.data()))
      throw std::runtime_error(kAuthFailed);
    write_all(out, plain.data(), plain.size());
  }
  std::fill(plain.begin(), plain.end(), std::uint8_t{0});
}

namespace {

// A read-only or read-write mapping of a whole file, unmapped on scope exit.
class Mapping {
 public:
  Mapping(int fd, std::uint64_t n, bool writable) : n_(n) {
    if (n == 0) return;
    void* p = ::mmap(nullptr, n, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                     writable ? MAP_SHARED : MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
      throw std::runtime_error(
          std::string(writable ? "cannot write the output: " : "cannot read the input: ") +
          std::strerror(errno));
    p_ = static_cast<std::uint8_t*>(p);
  }
  ~Mapping() {
    if (p_) ::munmap(p_, n_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  std::uint8_t* data() const { return p_; }

 private:
  std::uint8_t* p_ = nullptr;
  std::uint64_t n_;
};

std::uint64_t file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw std::runtime_error(std::string("cannot read the input: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw std::runtime_error("the input is not a regular file");
  return static_cast<std::uint64_t>(st.st_size);
}

void pwrite_all(int fd, const std::uint8_t* p, std::uint64_t n, std::uint64_t offset) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      throw std::runtime_error(std::string("cannot write the output: ") + std::strerror(w < 0 ? errno : EIO));
    p += w;
    n -= static_cast<std::uint64_t>(w);
    offset += static_cast<std::uint64_t>(w);
  }
}

// One chunk-sized buffer per worker thread, reused across calls.
Bytes& worker_buffer(std::size_t n) {
  thread_local Bytes buffer;
  if (buffer.size() < n) buffer.resize(n);
  return buffer;
}

}  // namespace

// The input is mapped (its pages are the page cache's: nothing is copied
// to read it) and each worker writes its chunks with pwrite at their final
// offsets, so reading, sealing and writing all run on every worker. The
// output is not mapped: a written mapping makes the kernel zero each page
// before it is overwritten, which costs as much as the encryption.
void encrypt_fd(const ContainerKey& key, int in_fd, int out_fd, const ScryptParams& params,
                std::uint32_t chunk_size) {
  const std::uint64_t length = file_size(in_fd);
  NewContainer c(key, length, params, chunk_size);
  const Header& h = c.h;
  const ByteSpan raw(c.key.data(), c.key.size());
  const std::uint64_t chunks = c.chunks;
  const std::array<std::uint8_t, kHeaderSize>& header = c.header;
  const ByteSpan aad(header.data(), header.size());
  const Mapping in(in_fd, length, false);
  pwrite_all(out_fd, header.data(), header.size(), 0);
  for_each_chunk(chunks, [&](std::uint64_t i) {
    const std::uint64_t begin = i * h.chunk_size;
    const std::uint64_t len = std::min<std::uint64_t>(h.chunk_size, h.length - begin);
    Bytes& buf = worker_buffer(len + kTagSize);
    const auto nonce = chunk_nonce(h, i, chunks);
    aes256_gcm_seal(raw, nonce, aad, ByteSpan(in.data() + begin, len), buf.data());
    pwrite_all(out_fd, buf.data(), len + kTagSize, kHeaderSize + begin + i * kTagSize);
    return true;
  });
}

void decrypt_fd(const ContainerKey& key, int in_fd, int out_fd) {
  const std::uint64_t total = file_size(in_fd);
  const Mapping in(in_fd, total, false);
  Header h = read_header(ByteSpan(in.data(), std::min<std::uint64_t>(total, kHeaderSize)), total);
  const bool passphrase = key.kind == ContainerKey::Kind::passphrase;
  if (h.kdf == kKdfScrypt && !passphrase)
    throw std::runtime_error("this file was encrypted with a passphrase, not a raw key");
  if (h.kdf == kKdfRawKey && passphrase)
    throw std::runtime_error("this file was encrypted with a raw key, not a passphrase");
  const CryptoPP::SecByteBlock k = derive_key(key, h, false);
  const ByteSpan raw(k.data(), k.size());
  const ByteSpan aad(in.data(), kHeaderSize);
  const std::uint64_t chunks = chunk_count(h.length, h.chunk_size);
  // A chunk that fails is not written; the caller discards the whole file.
  const bool ok = for_each_chunk(chunks, [&](std::uint64_t i) {
    const std::uint64_t begin = i * h.chunk_size;
    const std::uint64_t len = std::min<std::uint64_t>(h.chunk_size, h.length - begin);
    Bytes& buf = worker_buffer(len);
    const auto nonce = chunk_nonce(h, i, chunks);
    if (!aes256_gcm_open(raw, nonce, aad,
                         ByteSpan(in.data() + kHeaderSize + begin + i * kTagSize, len + kTagSize),
                         buf.data()))
      return false;
    pwrite_all(out_fd, buf.data(), len, begin);
    return true;
  });
  if (!ok) throw std::runtime_error(kAuthFailed);
}

Bytes decrypt_bytes(ByteSpan key, ByteSpan container) {
  if (key.size() != kKeySize) throw std::invalid_argument("the key must be 32 bytes");
  const Header h = read_header(container);
  if (h.kdf != kKdfRawKey)
    throw std::runtime_error("this file was encrypted with a passphrase, not a raw key");
  return open(key, h, container);
}

Bytes encrypt_bytes_with_passphrase(std::string_view passphrase, ByteSpan plaintext,
                                    const ScryptParams& params, std::uint32_t chunk_size) {
  check_scrypt_params(params);
  Header h;
  h.kdf = kKdfScrypt;
  h.scrypt = params;
  h.chunk_size = chunk_size;
  random_bytes(h.salt.data(), h.salt.size());
  const CryptoPP::SecByteBlock key = scrypt(passphrase, h.salt, params.log2_n, params.r, params.p, kKeySize);
  return seal(ByteSpan(key.data(), key.size()), h, plaintext);
}

Bytes decrypt_bytes_with_passphrase(std::string_view passphrase, ByteSpan container) {
  const Header h = read_header(container);
  if (h.kdf != kKdfScrypt)
    throw std::runtime_error("this file was encrypted with a raw key, not a passphrase");
  check_scrypt_params(h.scrypt);
  const CryptoPP::SecByteBlock key =
      scrypt(passphrase, h.salt, h.scrypt.log2_n, h.scrypt.r, h.scrypt.p, kKeySize);
  return open(ByteSpan(key.data(), key.size()), h, container);
}

}  // namespace keel::encrypt
