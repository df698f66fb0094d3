// Byte streams across the boundary. A codec's C++ API reads std::istream
// and writes std::ostream; those objects belong to one standard library, so
// only the C reader/writer of keel/abi.h crosses. The plugin wraps them in
// stream buffers of its own library (CStreamBuf); the host implements them
// over its own streams (reader_over, writer_over).
#pragma once

#include <cstdint>
#include <cstdio>
#include <istream>
#include <ostream>
#include <streambuf>

#include "keel/abi.h"

namespace keel::detail {

// Reads through a keel_reader, writes through a keel_writer (either may be
// null). Seeking is passed through, so a codec can ask for the input's size.
class CStreamBuf final : public std::streambuf {
 public:
  CStreamBuf(const keel_reader* in, const keel_writer* out) : in_(in), out_(out) {
    setg(buffer_, buffer_, buffer_);
  }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (!in_) return traits_type::eof();
    const std::int64_t n = in_->read(in_->ctx, buffer_, sizeof buffer_);
    if (n <= 0) return traits_type::eof();
    setg(buffer_, buffer_, buffer_ + n);
    return traits_type::to_int_type(*gptr());
  }

  pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode which) override {
    if (!in_ || !(which & std::ios_base::in)) return pos_type(off_type(-1));
    // The reader is ahead of our position by what is still buffered.
    if (dir == std::ios_base::cur) off -= egptr() - gptr();
    const int whence = dir == std::ios_base::beg ? SEEK_SET : dir == std::ios_base::cur ? SEEK_CUR : SEEK_END;
    const std::int64_t at = in_->seek(in_->ctx, off, whence);
    if (at < 0) return pos_type(off_type(-1));
    setg(buffer_, buffer_, buffer_);
    return pos_type(off_type(at));
  }

  pos_type seekpos(pos_type pos, std::ios_base::openmode which) override {
    return seekoff(off_type(pos), std::ios_base::beg, which);
  }

  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (!out_ || n < 0 || out_->write(out_->ctx, s, static_cast<std::size_t>(n)) != 0) return 0;
    return n;
  }

  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    return xsputn(&ch, 1) == 1 ? c : traits_type::eof();
  }

 private:
  const keel_reader* in_;
  const keel_writer* out_;
  char buffer_[1 << 16];
};

// The host's side: a keel_reader over a std::istream it owns.
inline keel_reader reader_over(std::istream& in) {
  keel_reader r{};
  r.ctx = &in;
  r.read = [](void* ctx, void* buffer, std::size_t size) -> std::int64_t {
    auto& s = *static_cast<std::istream*>(ctx);
    s.read(static_cast<char*>(buffer), static_cast<std::streamsize>(size));
    if (s.bad()) return -1;
    return static_cast<std::int64_t>(s.gcount());
  };
  r.seek = [](void* ctx, std::int64_t offset, int whence) -> std::int64_t {
    auto& s = *static_cast<std::istream*>(ctx);
    s.clear(s.rdstate() & ~std::ios_base::eofbit & ~std::ios_base::failbit);
    const auto dir = whence == SEEK_SET   ? std::ios_base::beg
                     : whence == SEEK_CUR ? std::ios_base::cur
                                          : std::ios_base::end;
    if (!s.seekg(offset, dir)) {
      s.clear(s.rdstate() & ~std::ios_base::failbit);
      return -1;
    }
    const auto at = s.tellg();
    return at < 0 ? -1 : static_cast<std::int64_t>(at);
  };
  return r;
}

// The host's side: a keel_writer over a std::ostream it owns.
inline keel_writer writer_over(std::ostream& out) {
  keel_writer w{};
  w.ctx = &out;
  w.write = [](void* ctx, const void* data, std::size_t size) -> int {
    auto& s = *static_cast<std::ostream*>(ctx);
    s.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    return s.good() ? 0 : 1;
  };
  return w;
}

}  // namespace keel::detail
