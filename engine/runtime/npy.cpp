// .npy layout: "\x93NUMPY", major, minor, the header length (u16 in 1.0,
// u32 in 2.0 and 3.0, little-endian), the header (a Python dict literal padded
// with spaces and '\n'), then the raw C-order data.
#include "runtime/npy.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/input_check.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/read_file.hpp"

// Data goes between file and memory byte for byte, with no swapping.
static_assert(std::endian::native == std::endian::little,
              "the .npy reader and writer assume a little-endian host");

namespace keel {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic{"\x93NUMPY", 6};
constexpr std::size_t kAlign = 64;
// NumPy's headers are a few hundred bytes; the cap stops a hostile length
// field from making us read and parse megabytes of "header".
constexpr std::size_t kMaxHeaderBytes = std::size_t{1} << 20;
// Bounds the parser's recursion, so "((((..." cannot exhaust the stack.
constexpr int kMaxNesting = 16;
struct DescrName {
  std::string_view descr;
  DType dtype;
};
constexpr DescrName kDescrs[] = {{"<f4", DType::f32}, {"<f8", DType::f64}, {"<i4", DType::i32},
                                 {"<i8", DType::i64}, {"|u1", DType::u8},  {"|b1", DType::boolean}};
constexpr std::string_view kSupported =
    "supported: '<f4' (f32), '<f8' (f64), '<i4' (i32), '<i8' (i64), '|u1' (u8), '|b1' (bool)";

[[noreturn]] void fail(const fs::path& path, const std::string& message) {
  throw usage_error(message, {path.string()});
}

// ---- Header parser --------------------------------------------------------
// Accepts the Python literals a header can hold (strings in either quote,
// words such as True or 12, tuples, lists) with any whitespace and trailing
// commas. Nothing is evaluated; interpretation is the validator's job.

struct Value {
  enum class Kind { string, word, tuple, list } kind = Kind::word;
  std::string text;          // a string's contents, or a word as written
  std::vector<Value> items;  // a tuple's or a list's elements
};

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const fs::path& path) : s_(text), path_(path) {}

  std::map<std::string, Value> parse_dict() {
    skip_space();
    if (peek() != '{') fail(path_, "malformed .npy header: not a dict: " + excerpt());
    ++pos_;
    std::map<std::string, Value> dict;
    for (skip_space(); peek() != '}'; skip_space()) {
      if (peek() != '\'' && peek() != '"') malformed("expected a quoted key");
      std::string key = parse_string();
      skip_space();
      if (peek() != ':') malformed("expected ':' after key '" + printable(key) + "'");
      ++pos_;
      skip_space();
      if (!dict.emplace(key, parse_value(0)).second) malformed("duplicate key '" + printable(key) + "'");
      skip_space();
      if (peek() == ',')
        ++pos_;
      else if (peek() != '}')
        malformed("expected ',' or '}'");
    }
    ++pos_;
    skip_space();
    if (pos_ != s_.size()) malformed("unexpected text after the dict");
    return dict;
  }

 private:
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  static bool is_word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || (c && std::strchr("_.+-", c));
  }
  void skip_space() {
    while (std::isspace(static_cast<unsigned char>(peek()))) ++pos_;
  }

  std::string excerpt() const {
    std::string out;
    for (std::size_t i = pos_; i < s_.size() && out.size() < 40; ++i)
      out += std::isprint(static_cast<unsigned char>(s_[i])) ? s_[i] : '?';
    return at_end() ? "<end of header>" : "'" + out + "'";
  }
  [[noreturn]] void malformed(const std::string& what) const {
    fail(path_,
         "malformed .npy header: " + what + " at offset " + std::to_string(pos_) + ", found " + excerpt());
  }

  std::string parse_string() {
    const char quote = s_[pos_++];
    std::string out;
    while (peek() != quote) {
      if (at_end()) malformed("unterminated string");
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      out += s_[pos_++];
    }
    ++pos_;
    return out;
  }

  Value parse_value(int depth) {
    if (depth > kMaxNesting) malformed("values nested too deeply");
    const char c = peek();
    if (c == '\'' || c == '"') return {Value::Kind::string, parse_string(), {}};
    if (c == '(' || c == '[') return parse_sequence(depth);
    if (!is_word_char(c)) malformed(at_end() ? "missing value" : "unexpected character");
    Value v;
    while (is_word_char(peek())) v.text += s_[pos_++];
    return v;
  }

  Value parse_sequence(int depth) {
    const char close = s_[pos_++] == '(' ? ')' : ']';
    Value seq{close == ')' ? Value::Kind::tuple : Value::Kind::list, {}, {}};
    bool trailing_comma = false;
    for (skip_space(); peek() != close; skip_space()) {
      seq.items.push_back(parse_value(depth + 1));
      skip_space();
      trailing_comma = peek() == ',';
      if (trailing_comma)
        ++pos_;
      else if (peek() != close)
        malformed(std::string("expected ',' or '") + close + "'");
    }
    ++pos_;
    // In Python "(5)" is just 5; only "(5,)" is a one-element tuple.
    if (close == ')' && seq.items.size() == 1 && !trailing_comma) return seq.items.front();
    return seq;
  }

  std::string_view s_;
  const fs::path& path_;
  std::size_t pos_ = 0;
};

// ---- Validation -----------------------------------------------------------

struct Header {
  DType dtype;
  Shape shape;
  std::size_t nbytes;  // checked against overflow
};

DType dtype_from_descr(const Value& v, const fs::path& path) {
  if (v.kind == Value::Kind::list)
    fail(path, "structured dtypes are not supported; " + std::string(kSupported));
  if (v.kind != Value::Kind::string) fail(path, "malformed .npy header: 'descr' must be a string");
  std::string d = v.text;
  // Byte order means nothing for one-byte types; NumPy writes '|'.
  if (d.size() == 3 && (d.ends_with("u1") || d.ends_with("b1")) && std::strchr("<>=", d[0])) d[0] = '|';
  for (const auto& [descr, dtype] : kDescrs)
    if (d == descr) return dtype;
  for (const auto& [descr, dtype] : kDescrs)
    if (d[0] == '>' && d.substr(1) == descr.substr(1))
      fail(path, "big-endian dtype '" + printable(d) + "' is not supported; save little-endian data, " +
                     "e.g. arr.astype('" + std::string(descr) + "')");
  fail(path, "unsupported dtype '" + printable(v.text) + "'; " + std::string(kSupported));
}

Dim dim_from_word(const Value& v, const fs::path& path) {
  if (v.kind != Value::Kind::word) fail(path, "malformed .npy header: 'shape' must be a tuple of integers");
  std::string_view t = v.text;
  // Python 2 wrote longs as "3L"; NumPy still reads such files.
  if (t.size() > 1 && (t.back() == 'L' || t.back() == 'l')) t.remove_suffix(1);
  const bool negative = !t.empty() && t.front() == '-';
  if (!t.empty() && (t.front() == '-' || t.front() == '+')) t.remove_prefix(1);
  if (t.empty() || !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
    fail(path, "dimension '" + printable(v.text) + "' in the shape is not an integer");
  if (negative && t.find_first_not_of('0') != std::string_view::npos)
    fail(path, "negative dimension " + printable(v.text) + " in the shape");
  Dim d = 0;
  if (std::from_chars(t.data(), t.data() + t.size(), d).ec != std::errc{})
    fail(path, "dimension " + printable(v.text) + " in the shape is too large");
  return d;
}

// Checked in the order Tensor's constructor multiplies (runtime/tensor.hpp),
// so a shape that passes here cannot overflow anywhere later.
std::size_t checked_nbytes(const Shape& shape, DType dtype, const fs::path& path) {
  const std::optional<std::uint64_t> bytes = keel::checked_nbytes(dtype, shape);
  if (!bytes) {
    const bool count_overflows = !keel::checked_nbytes(DType::u8, shape);
    fail(path, "shape " + shape_for_message(shape) + " is too large: its " +
                   (count_overflows ? "element" : "byte") + " count overflows");
  }
  return static_cast<std::size_t>(*bytes);
}

Header validate(const std::map<std::string, Value>& dict, const fs::path& path) {
  // NumPy itself insists on exactly these three keys.
  const std::string_view keys[] = {"descr", "fortran_order", "shape"};
  for (const auto& entry : dict)
    if (std::find(std::begin(keys), std::end(keys), entry.first) == std::end(keys))
      fail(path, "malformed .npy header: unexpected key '" + printable(entry.first) + "'");
  for (std::string_view key : keys)
    if (!dict.count(std::string(key)))
      fail(path, "malformed .npy header: missing key '" + std::string(key) + "'");

  const Value& fortran = dict.at("fortran_order");
  if (fortran.kind != Value::Kind::word || (fortran.text != "True" && fortran.text != "False"))
    fail(path, "malformed .npy header: 'fortran_order' must be True or False");
  if (fortran.text == "True")
    fail(path, "Fortran-order arrays are not supported; save with np.ascontiguousarray");

  Header h{dtype_from_descr(dict.at("descr"), path), {}, 0};
  const Value& shape = dict.at("shape");
  if (shape.kind != Value::Kind::tuple)
    fail(path, "malformed .npy header: 'shape' must be a tuple of integers");
  for (const Value& item : shape.items) h.shape.push_back(dim_from_word(item, path));
  h.nbytes = checked_nbytes(h.shape, h.dtype, path);
  return h;
}

// ---- Writing helpers --------------------------------------------------------

// Byte for byte what np.save writes, including the spare spaces NumPy leaves
// after the dict so the first axis can grow in place.
std::string npy_preamble(const Tensor& t) {
  const Shape& shape = t.shape();
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) dims.append(i ? ", " : "").append(std::to_string(shape[i]));
  if (shape.size() == 1) dims += ",";  // Python's repr of a one-element tuple
  const auto& descr = *std::find_if(std::begin(kDescrs), std::end(kDescrs),
                                    [&](const DescrName& n) { return n.dtype == t.dtype(); });
  std::string header =
      "{'descr': '" + std::string(descr.descr) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  if (!shape.empty()) header.append(21 - std::to_string(shape[0]).size(), ' ');

  const std::size_t hlen = header.size() + 1;  // + the final '\n'
  // Padding is 1..64 bytes (never 0), exactly as NumPy computes it.
  auto padded = [&](std::size_t prefix) { return hlen + kAlign - (prefix + hlen) % kAlign; };
  const int major = padded(10) <= 0xFFFF ? 1 : 2;
  const std::size_t prefix = major == 1 ? 10 : 12;
  const std::size_t total = padded(prefix);
  if (total > kMaxHeaderBytes)
    throw runtime_error("a tensor of rank " + std::to_string(shape.size()) +
                        " has too many dimensions for a .npy header");
  std::string out(kMagic);
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t b = 0; b < prefix - 8; ++b) out += static_cast<char>((total >> (8 * b)) & 0xFF);
  out += header;
  out.append(total - hlen, ' ');
  out += '\n';
  return out;
}

}  // namespace

// ---- Read -----------------------------------------------------------------

namespace {

// Reads `n` bytes at offset `at` of the file into `dst`, or fails.
using ReadAt = std::function<void(std::uintmax_t at, void* dst, std::size_t n)>;

Tensor parse_npy(std::uintmax_t file_size, const fs::path& path, const ReadAt& read_at);

}  // namespace

Tensor read_npy(const fs::path& path) {
  // Under an input check (a trust policy) the whole file is read and checked
  // before any byte is parsed, and parsed from that memory; otherwise it is
  // streamed straight into the tensor.
  if (input_check()) return decode_npy(read_input_file(path), path.string());
  std::error_code ec;
  const std::uintmax_t file_size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot read: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  return parse_npy(file_size, path, [&](std::uintmax_t at, void* dst, std::size_t n) {
    in.seekg(static_cast<std::streamoff>(at));
    in.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(in.gcount()) != n)
      fail(path, "cannot read: the file changed while being read");
  });
}

Tensor decode_npy(std::string_view bytes, const std::string& source) {
  return parse_npy(bytes.size(), source, [&](std::uintmax_t at, void* dst, std::size_t n) {
    if (at > bytes.size() || n > bytes.size() - at) fail(source, "truncated");
    std::memcpy(dst, bytes.data() + at, n);
  });
}

namespace {

Tensor parse_npy(std::uintmax_t file_size, const fs::path& path, const ReadAt& read_at) {
  std::uintmax_t at = 0;
  auto read_exact = [&](void* dst, std::size_t n) {
    if (n == 0) return;
    read_at(at, dst, n);
    at += n;
  };

  unsigned char pre[12] = {};
  const auto got = static_cast<std::size_t>(std::min<std::uintmax_t>(file_size, sizeof pre));
  read_exact(pre, got);
  if (file_size == 0) fail(path, "not a .npy file (bad magic: the file is empty)");
  if (got < kMagic.size() || std::memcmp(pre, kMagic.data(), kMagic.size()) != 0)
    fail(path, "not a .npy file (bad magic)");
  if (got < 8) fail(path, "truncated header: the file ends inside the format version");
  const int major = pre[6], minor = pre[7];
  if (minor != 0 || major < 1 || major > 3)
    fail(path, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                   " (supported: 1.0, 2.0, 3.0)");
  const std::size_t prefix = major == 1 ? 10 : 12;
  if (file_size < prefix) fail(path, "truncated header: the file ends inside the header length");
  std::size_t header_len = 0;
  for (std::size_t b = 8; b < prefix; ++b) header_len |= std::size_t{pre[b]} << (8 * (b - 8));
  if (header_len > kMaxHeaderBytes)
    fail(path, "header of " + std::to_string(header_len) + " bytes exceeds the limit of " +
                   std::to_string(kMaxHeaderBytes));
  if (file_size - prefix < header_len)
    fail(path, "truncated header: it claims " + std::to_string(header_len) + " bytes, the file holds " +
                   std::to_string(file_size - prefix));

  std::string text(header_len, '\0');
  at = prefix;
  read_exact(text.data(), header_len);
  const Header h = validate(HeaderParser(text, path).parse_dict(), path);

  // Checked before allocating: the tensor is never larger than the file.
  const std::uintmax_t data_size = file_size - prefix - header_len;
  if (data_size != h.nbytes)
    fail(path, std::string(data_size < h.nbytes ? "truncated data" : "trailing data") + ": expected " +
                   std::to_string(h.nbytes) + " bytes for " + std::string(dtype_name(h.dtype)) + " " +
                   shape_for_message(h.shape) + ", found " + std::to_string(data_size));

  Tensor tensor(h.dtype, h.shape);
  read_exact(tensor.data(), h.nbytes);
  // Kernels rely on bools being exactly 0 or 1; anything else is corruption.
  if (h.dtype == DType::boolean) {
    const auto* bytes = tensor.as<std::uint8_t>();
    for (std::size_t i = 0; i < h.nbytes; ++i)
      if (bytes[i] > 1)
        fail(path, "bool element " + std::to_string(i) + " is " + std::to_string(bytes[i]) +
                       "; bool data must be 0 or 1");
  }
  return tensor;
}

}  // namespace

// ---- Write ----------------------------------------------------------------

std::string encode_npy(const Tensor& tensor) {
  std::string out = npy_preamble(tensor);
  const auto* data = static_cast<const char*>(tensor.data());
  if (tensor.dtype() != DType::boolean) {
    if (tensor.nbytes()) out.append(data, tensor.nbytes());
    return out;
  }
  for (std::size_t i = 0; i < tensor.nbytes(); ++i) out += data[i] ? '\1' : '\0';
  return out;
}

void write_npy(const fs::path& path, const Tensor& tensor) {
  if (tensor.empty()) throw runtime_error("cannot write a tensor without data", {path.string()});
  const std::string preamble = npy_preamble(tensor);
  const auto* data = static_cast<const char*>(tensor.data());
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(preamble.data(), static_cast<std::streamsize>(preamble.size()));
    if (tensor.dtype() != DType::boolean) {
      out.write(data, static_cast<std::streamsize>(tensor.nbytes()));
      return;
    }
    // Any nonzero byte is true; the file holds canonical 0/1 so readers agree.
    for (std::size_t i = 0; i < tensor.nbytes(); ++i) out.put(data[i] ? 1 : 0);
  });
}

}  // namespace keel
