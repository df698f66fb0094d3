// The plugin's side of the codec boundary: a registered codec becomes a
// keel_codec_entry whose C functions call the plugin's keel::Codec, with
// the host's C streams wrapped in the plugin's own std::istream/ostream.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <ostream>
#include <span>

#include "keel/abi.h"
#include "keel/codec.hpp"
#include "keel/detail/c_streams.hpp"
#include "keel/detail/c_values.hpp"

namespace keel::detail {

inline CodecOptions codec_options_from_c(const keel_codec_options* o) {
  CodecOptions out;
  if (!o) return out;
  out.key.key_file = c_str_or_empty(o->key_file);
  out.key.passphrase_env = c_str_or_empty(o->passphrase_env);
  out.ttl_seconds = o->ttl_seconds;
  return out;
}

// A codec's write failure must reach the host as one: a stream that went
// bad is reported with the SDK's write-failure words (kCodecWriteFailure).
inline Status checked_write(std::ostream& out, Status st) {
  out.flush();
  if (st.ok() && !out) return Status::Error(std::string(kCodecWriteFailure));
  return st;
}

struct CodecTrampolines {
  static Codec& codec(void* p) { return *static_cast<Codec*>(p); }
  static const Codec& codec(const void* p) { return *static_cast<const Codec*>(p); }

  static void* create(void* context, keel_error* error) noexcept {
    void* made = nullptr;
    guarded_call(error, [&] {
      std::unique_ptr<Codec> c = reinterpret_cast<CodecFactory>(context)();
      if (!c) return Status::Error("the factory returned nothing");
      made = c.release();
      return Status::Ok();
    });
    return made;
  }

  static void destroy(void* p) noexcept { delete static_cast<Codec*>(p); }

  static int recognizes(const void* p, const std::uint8_t* head, std::size_t n) noexcept {
    try {
      return codec(p).recognizes(std::span<const std::uint8_t>(head, n)) ? 1 : 0;
    } catch (...) {
      return 0;
    }
  }

  static int check_key(const void* p, const keel_codec_options* o, keel_error* error) noexcept {
    return guarded_call(error, [&] { return codec(p).check_key(codec_options_from_c(o).key); });
  }

  using StreamCall = Status (Codec::*)(std::istream&, std::ostream&, const CodecOptions&);
  using FileCall = Status (Codec::*)(int, int, const CodecOptions&);

  // seal and open alike: the host's C streams as this library's streams.
  static int streams(void* p, StreamCall call, const keel_reader* in, const keel_writer* out,
                     const keel_codec_options* o, keel_error* error) noexcept {
    return guarded_call(error, [&] {
      CStreamBuf in_buf(in, nullptr), out_buf(nullptr, out);
      std::istream is(&in_buf);
      std::ostream os(&out_buf);
      return checked_write(os, (codec(p).*call)(is, os, codec_options_from_c(o)));
    });
  }
  static int seal(void* p, const keel_reader* in, const keel_writer* out, const keel_codec_options* o,
                  keel_error* error) noexcept {
    return streams(p, &Codec::seal, in, out, o, error);
  }
  static int open(void* p, const keel_reader* in, const keel_writer* out, const keel_codec_options* o,
                  keel_error* error) noexcept {
    return streams(p, &Codec::open, in, out, o, error);
  }

  static int keygen(void* p, const keel_writer* out, keel_error* error) noexcept {
    return guarded_call(error, [&] {
      CStreamBuf out_buf(nullptr, out);
      std::ostream os(&out_buf);
      return checked_write(os, codec(p).keygen(os));
    });
  }

  static int files_supported(const void* p) noexcept {
    try {
      return codec(p).files_supported() ? 1 : 0;
    } catch (...) {
      return 0;
    }
  }

  static int files(void* p, FileCall call, int in_fd, int out_fd, const keel_codec_options* o,
                   keel_error* error) noexcept {
    return guarded_call(error, [&] { return (codec(p).*call)(in_fd, out_fd, codec_options_from_c(o)); });
  }
  static int seal_files(void* p, int in_fd, int out_fd, const keel_codec_options* o,
                        keel_error* error) noexcept {
    return files(p, &Codec::seal_files, in_fd, out_fd, o, error);
  }
  static int open_files(void* p, int in_fd, int out_fd, const keel_codec_options* o,
                        keel_error* error) noexcept {
    return files(p, &Codec::open_files, in_fd, out_fd, o, error);
  }

  static keel_codec_entry entry(const char* name, const char* doc, CodecFactory factory) {
    return {name,
            doc,
            reinterpret_cast<void*>(factory),
            create,
            destroy,
            recognizes,
            check_key,
            seal,
            open,
            keygen,
            files_supported,
            seal_files,
            open_files};
  }
};

}  // namespace keel::detail
