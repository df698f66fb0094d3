// Host side of the codec boundary: keel::Codec calls forwarded to a
// plugin's C entry, with the host's streams passed as C readers/writers.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>

#include "keel/abi.h"
#include "keel/codec.hpp"
#include "keel/detail/c_streams.hpp"
#include "keel/detail/import_op.hpp"

namespace keel::detail {

// Key names stay in `options` (which outlives the call).
inline keel_codec_options codec_options_to_c(const CodecOptions& o) {
  return {o.key.key_file.c_str(), o.key.passphrase_env.c_str(), o.ttl_seconds};
}

class ImportedCodec final : public Codec {
 public:
  ImportedCodec(const keel_codec_entry& entry, void* handle) : entry_(entry), handle_(handle) {}
  ImportedCodec(const ImportedCodec&) = delete;
  ImportedCodec& operator=(const ImportedCodec&) = delete;
  ~ImportedCodec() override { entry_.destroy(handle_); }

  bool recognizes(std::span<const std::uint8_t> head) const override {
    return entry_.recognizes(handle_, head.data(), head.size()) != 0;
  }

  Status check_key(const KeySource& key) const override {
    const CodecOptions o{key, -1};
    const keel_codec_options c = codec_options_to_c(o);
    ErrorSlot error;
    return entry_.check_key(handle_, &c, &error.sink) == 0 ? Status::Ok() : error.failure();
  }

  Status seal(std::istream& in, std::ostream& out, const CodecOptions& options) override {
    return through_streams(entry_.seal, in, out, options);
  }

  Status open(std::istream& in, std::ostream& out, const CodecOptions& options) override {
    return through_streams(entry_.open, in, out, options);
  }

  Status keygen(std::ostream& out) override {
    const keel_writer w = writer_over(out);
    ErrorSlot error;
    return entry_.keygen(handle_, &w, &error.sink) == 0 ? Status::Ok() : error.failure();
  }

  bool files_supported() const override {
    return entry_.files_supported && entry_.files_supported(handle_) != 0;
  }

  Status seal_files(int in_fd, int out_fd, const CodecOptions& options) override {
    return through_files(entry_.seal_files, in_fd, out_fd, options);
  }

  Status open_files(int in_fd, int out_fd, const CodecOptions& options) override {
    return through_files(entry_.open_files, in_fd, out_fd, options);
  }

 private:
  using StreamCall = int (*)(void*, const keel_reader*, const keel_writer*, const keel_codec_options*,
                             keel_error*);
  using FileCall = int (*)(void*, int, int, const keel_codec_options*, keel_error*);

  Status through_streams(StreamCall call, std::istream& in, std::ostream& out, const CodecOptions& options) {
    const keel_reader r = reader_over(in);
    const keel_writer w = writer_over(out);
    const keel_codec_options c = codec_options_to_c(options);
    ErrorSlot error;
    return call(handle_, &r, &w, &c, &error.sink) == 0 ? Status::Ok() : error.failure();
  }

  Status through_files(FileCall call, int in_fd, int out_fd, const CodecOptions& options) {
    const keel_codec_options c = codec_options_to_c(options);
    ErrorSlot error;
    return call(handle_, in_fd, out_fd, &c, &error.sink) == 0 ? Status::Ok() : error.failure();
  }

  keel_codec_entry entry_;
  void* handle_;
};

inline std::function<std::unique_ptr<Codec>()> codec_maker(const keel_codec_entry& entry) {
  return [entry]() -> std::unique_ptr<Codec> {
    ErrorSlot error;
    void* handle = entry.create(entry.context, &error.sink);
    if (!handle && error.threw) throw std::runtime_error(error.message);
    if (!handle) return nullptr;
    return std::make_unique<ImportedCodec>(entry, handle);
  };
}

}  // namespace keel::detail
