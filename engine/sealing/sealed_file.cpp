#include "sealing/sealed_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

#include "base/error.hpp"
#include "registry/plugin_call.hpp"
#include "runtime/atomic_file.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kHeadSize = 64;

std::string names(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& n : list) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::ifstream open_input(const fs::path& in) {
  std::error_code ec;
  if (fs::is_directory(in, ec)) throw usage_error("'" + in.string() + "' is a folder, not a file");
  std::ifstream f(in, std::ios::binary);
  if (!f) throw usage_error("cannot read '" + in.string() + "': " + std::strerror(errno));
  return f;
}

// Runs one codec call writing to `out` (a temporary of atomic_file). A
// failure is the input's or the key's fault (usage), unless the stream
// itself failed, which is a write error (runtime).
void run_codec(const std::string& what, const std::string& source, const fs::path& target,
               const std::ostream* out, const std::function<Status()>& call) {
  const Status st = call_plugin(what, "", call);
  if (st.ok()) return;
  if ((out && out->bad()) || st.message().rfind(kCodecWriteFailure, 0) == 0)
    throw runtime_error("cannot write '" + target.string() + "': " + st.message());
  throw usage_error(source + ": " + st.message());
}

// A read-only descriptor for the codecs' file path, closed on scope exit.
class InputFd {
 public:
  explicit InputFd(const fs::path& in) : fd_(::open(in.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw usage_error("cannot read '" + in.string() + "': " + std::strerror(errno));
  }
  ~InputFd() { ::close(fd_); }
  InputFd(const InputFd&) = delete;
  InputFd& operator=(const InputFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// While a codec writes a large output, a helper thread flushes what is
// written so far to disk (fdatasync) every 20 ms, so that the disk works
// while the codec does. The output is flushed with fsync before it is
// renamed into place (runtime/atomic_file); without this, that fsync began
// only once every byte was produced, and a 256 MiB output waited about
// 0.17 s for it on this project's machines, a few ms with it. (Only
// starting the writeback, with sync_file_range, left 0.13 s: the device's
// cache flush is most of the wait.) Small outputs are left to that fsync.
class EarlyWriteback {
 public:
  EarlyWriteback(int fd, std::uint64_t expected_bytes) {
    if (expected_bytes < kMinBytes) return;
    try {
      worker_ = std::thread([this, fd] { run(fd); });
    } catch (const std::system_error&) {
      // No thread to be had: the final fsync does all the flushing.
    }
  }
  ~EarlyWriteback() {
    if (!worker_.joinable()) return;
    {
      const std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    worker_.join();
  }
  EarlyWriteback(const EarlyWriteback&) = delete;
  EarlyWriteback& operator=(const EarlyWriteback&) = delete;

 private:
  static constexpr std::uint64_t kMinBytes = std::uint64_t{32} << 20;
  static constexpr std::chrono::milliseconds kPeriod{20};

  void run(int fd) {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, kPeriod, [this] { return stop_; })) {
      lock.unlock();
      // Best effort, like the fsync it shortens: a failure here changes
      // nothing that fsync does not check again.
      (void)::fdatasync(fd);
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread worker_;
};

std::uint64_t size_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// Regular files go through the codec's file path when it has one (mapped,
// fully parallel); anything else through streams.
bool use_file_path(const Codec& codec, const fs::path& in) {
  std::error_code ec;
  return codec.files_supported() && fs::is_regular_file(in, ec);
}

}  // namespace

CodecInstance make_codec(const Registry& registry, const std::string& name) {
  if (const CodecEntry* e = registry.find_codec(name)) return registry.create_codec(*e);
  const auto known = registry.codec_names();
  if (known.empty())
    throw usage_error("no plugin provides file codecs (is the encrypt plugin installed?); needed: '" + name +
                      "'");
  throw usage_error("unknown format '" + name + "' (formats: " + names(known) + ")");
}

std::string detect_codec(const Registry& registry, const fs::path& file) {
  // Only a regular file can be read twice: peeking at a pipe would consume
  // the bytes the codec needs.
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return {};
  std::ifstream f(file, std::ios::binary);
  if (!f) return {};
  std::string head(kHeadSize, '\0');
  f.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(f.gcount()));
  return detect_codec_of_bytes(registry, head);
}

std::string detect_codec_of_bytes(const Registry& registry, std::string_view bytes) {
  const std::string_view first = bytes.substr(0, kHeadSize);
  const std::vector<std::uint8_t> head(first.begin(), first.end());
  for (const auto& name : registry.codec_names()) {
    const CodecInstance codec = registry.create_codec(*registry.find_codec(name));
    bool yes = false;
    const Status st = call_plugin("codec '" + name + "'", "", [&] {
      yes = codec->recognizes(head);
      return Status::Ok();
    });
    if (st.ok() && yes) return name;
  }
  return {};
}

void check_key(const Codec& codec, const std::string& codec_name, const KeySource& key) {
  const Status st = call_plugin("codec '" + codec_name + "'", "", [&] { return codec.check_key(key); });
  if (!st.ok()) throw usage_error(st.message());
}

void seal_file(Codec& codec, const fs::path& in, const fs::path& out, const CodecOptions& options) {
  if (use_file_path(codec, in)) {
    const InputFd src(in);
    write_fd_atomically(out, [&](int dst) {
      const EarlyWriteback writeback(dst, size_of(src.get()));
      run_codec("sealing", in.string(), out, nullptr,
                [&] { return codec.seal_files(src.get(), dst, options); });
    });
    return;
  }
  std::ifstream src = open_input(in);
  write_file_atomically(out, [&](std::ostream& dst) {
    run_codec("sealing", in.string(), out, &dst, [&] { return codec.seal(src, dst, options); });
  });
}

void open_file(Codec& codec, const fs::path& in, const fs::path& out, const CodecOptions& options) {
  // Plaintext is private: a new output file is 0600 (atomic_file.hpp).
  const AtomicFileOptions plaintext{.private_file = true};
  if (use_file_path(codec, in)) {
    const InputFd src(in);
    write_fd_atomically(
        out,
        [&](int dst) {
          const EarlyWriteback writeback(dst, size_of(src.get()));
          run_codec("opening", in.string(), out, nullptr,
                    [&] { return codec.open_files(src.get(), dst, options); });
        },
        plaintext);
    return;
  }
  std::ifstream src = open_input(in);
  write_file_atomically(
      out,
      [&](std::ostream& dst) {
        run_codec("opening", in.string(), out, &dst, [&] { return codec.open(src, dst, options); });
      },
      plaintext);
}

void seal_bytes_to_file(Codec& codec, const std::string& bytes, const fs::path& out,
                        const CodecOptions& options) {
  std::istringstream src(bytes);
  write_file_atomically(out, [&](std::ostream& dst) {
    run_codec("sealing", out.string(), out, &dst, [&] { return codec.seal(src, dst, options); });
  });
}

std::string open_bytes_to_bytes(Codec& codec, const std::string& sealed, const std::string& source,
                                const CodecOptions& options) {
  std::istringstream src(sealed);
  std::ostringstream dst;
  run_codec("opening", source, source, &dst, [&] { return codec.open(src, dst, options); });
  return std::move(dst).str();
}

void write_key_file(Codec& codec, const fs::path& file) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(file, ec)))
    throw usage_error("'" + file.string() +
                      "' already exists; a key is never overwritten (remove the file first)");
  write_file_atomically(
      file,
      [&](std::ostream& out) {
        const Status st = call_plugin("keygen", "", [&] { return codec.keygen(out); });
        if (!st.ok()) throw runtime_error("cannot write key file '" + file.string() + "': " + st.message());
      },
      {.secret = true, .no_clobber = true});
}

}  // namespace keel
