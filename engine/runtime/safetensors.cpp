// Format reference: https://github.com/huggingface/safetensors (README,
// "Format"). The checks mirror the reference reader's: header at most 100 MB,
// offsets relative to the end of the header, every tensor's byte range the
// size its dtype and shape need, and the ranges tiling the data exactly.
#include "runtime/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <numeric>
#include <optional>
#include <set>
#include <string_view>

#include "base/error.hpp"
#include "base/json.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/json_read.hpp"
#include "runtime/read_file.hpp"

// Data goes between file and memory byte for byte, with no swapping.
static_assert(std::endian::native == std::endian::little,
              "the safetensors reader and writer assume a little-endian host");

namespace keel {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the reference reader's limit
constexpr std::string_view kMetadataKey = "__metadata__";

struct DTypeName {
  std::string_view name;
  DType dtype;
};
constexpr DTypeName kDTypes[] = {{"F32", DType::f32}, {"F64", DType::f64}, {"I32", DType::i32},
                                 {"I64", DType::i64}, {"U8", DType::u8},   {"BOOL", DType::boolean}};
constexpr std::string_view kSupported = "supported: F32, F64, I32, I64, U8, BOOL";
// Dtypes other writers use that keel has no tensor type for.
constexpr std::string_view kOtherKnown[] = {"F16",     "BF16",    "F8_E4M3", "F8_E5M2", "F8_E8M0",
                                            "F6_E2M3", "F6_E3M2", "F4",      "E8M0",    "I8",
                                            "I16",     "U16",     "U32",     "U64",     "C64"};

std::string_view safetensors_name(DType t) {
  for (const auto& [name, dtype] : kDTypes)
    if (dtype == t) return name;
  return "?";
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin, end;
};

class HeaderReader {
 public:
  explicit HeaderReader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& what) const { throw usage_error(what, {source_}); }

  DType dtype(const std::string& who, const JsonValue& v) const {
    if (!v.is_string()) fail(who + ": 'dtype' must be a string, not " + JsonValue::kind_name(v.kind));
    for (const auto& [name, dtype] : kDTypes)
      if (v.text == name) return dtype;
    const bool known =
        std::find(std::begin(kOtherKnown), std::end(kOtherKnown), v.text) != std::end(kOtherKnown);
    fail(who + ": " + (known ? "unsupported" : "unknown") + " dtype '" + printable(v.text) + "' (" +
         std::string(kSupported) + ")");
  }

  Shape shape(const std::string& who, const JsonValue& v) const {
    if (!v.is_array()) fail(who + ": 'shape' must be an array, not " + JsonValue::kind_name(v.kind));
    Shape shape;
    for (const JsonValue& d : v.items) {
      if (!d.is_number()) fail(who + ": 'shape' must hold integers, not " + JsonValue::kind_name(d.kind));
      if (d.text.find_first_of(".eE") != std::string::npos)
        fail(who + ": dimension " + printable(d.text) + " in 'shape' is not an integer");
      if (d.text[0] == '-' && d.text.find_first_not_of('0', 1) != std::string::npos)
        fail(who + ": negative dimension " + printable(d.text) + " in 'shape'");
      const auto u = d.text[0] == '-' ? std::optional<std::uint64_t>(0) : d.to_uint64();
      if (!u || *u > static_cast<std::uint64_t>(INT64_MAX))
        fail(who + ": dimension " + printable(d.text) + " in 'shape' is too large");
      shape.push_back(static_cast<Dim>(*u));
    }
    return shape;
  }

  Entry entry(const std::string& name, const JsonValue& v) const {
    const std::string who = "tensor '" + printable(name) + "'";
    if (!v.is_object()) fail(who + ": entry must be an object, not " + JsonValue::kind_name(v.kind));
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!v.find(key)) fail(who + ": missing key '" + key + "'");
    Entry e{name, dtype(who, *v.find("dtype")), shape(who, *v.find("shape")), 0, 0};

    const JsonValue& offsets = *v.find("data_offsets");
    const bool pair = offsets.is_array() && offsets.items.size() == 2 && offsets.items[0].to_uint64() &&
                      offsets.items[1].to_uint64();
    if (!pair) fail(who + ": 'data_offsets' must be [begin, end], two non-negative integers");
    e.begin = *offsets.items[0].to_uint64();
    e.end = *offsets.items[1].to_uint64();
    const std::string range = "data_offsets [" + offsets.items[0].text + ", " + offsets.items[1].text + "]";
    if (e.end < e.begin) fail(who + ": " + range + " end before they begin");

    // In Tensor's order (runtime/tensor.hpp), so what passes here allocates.
    const std::optional<std::uint64_t> checked = checked_nbytes(e.dtype, e.shape);
    if (!checked)
      fail(who + ": shape " + shape_for_message(e.shape) + " is too large: its byte count overflows");
    const std::uint64_t bytes = *checked;
    if (e.end - e.begin != bytes)
      fail(who + ": " + range + " span " + std::to_string(e.end - e.begin) + " bytes, but " +
           std::string(safetensors_name(e.dtype)) + " " + shape_for_message(e.shape) + " needs " +
           std::to_string(bytes));
    return e;
  }

  std::map<std::string, std::string> metadata(const JsonValue& v) const {
    if (!v.is_object())
      fail("'__metadata__' must be an object, not " + std::string(JsonValue::kind_name(v.kind)));
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : v.members) {
      if (!value.is_string())
        fail("metadata value for '" + printable(key) + "' must be a string, not " +
             JsonValue::kind_name(value.kind));
      if (!out.emplace(key, value.text).second) fail("duplicate metadata key '" + printable(key) + "'");
    }
    return out;
  }

  // Sorted by position, the ranges must follow one another with no overlap
  // and no gap from byte 0 to the end of the data.
  void check_tiling(const std::vector<Entry>& entries, std::uint64_t data_size) const {
    for (const Entry& e : entries)
      if (e.end > data_size)
        fail("tensor '" + printable(e.name) + "': data_offsets [" + std::to_string(e.begin) + ", " +
             std::to_string(e.end) + "] reach beyond the " + std::to_string(data_size) + " bytes of data");
    std::vector<std::size_t> order(entries.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::pair(entries[a].begin, entries[a].end) < std::pair(entries[b].begin, entries[b].end);
    });
    std::uint64_t covered = 0;
    const Entry* previous = nullptr;
    for (std::size_t i : order) {
      const Entry& e = entries[i];
      if (e.begin < covered)
        fail("tensors '" + printable(previous->name) + "' and '" + printable(e.name) + "' overlap at bytes " +
             std::to_string(e.begin) + ".." + std::to_string(std::min(covered, e.end)));
      if (e.begin > covered)
        fail("bytes " + std::to_string(covered) + ".." + std::to_string(e.begin) +
             " of the data belong to no tensor");
      covered = e.end;
      previous = &e;
    }
    if (covered != data_size)
      fail("bytes " + std::to_string(covered) + ".." + std::to_string(data_size) +
           " at the end of the data belong to no tensor");
  }

 private:
  const std::string& source_;
};

// The length field and the header, padded with spaces to a multiple of 8
// bytes as the reference writer does, so the data that follows is aligned.
std::string encode_preamble(const TensorFile& file) {
  std::string header = "{";
  if (!file.metadata.empty()) {
    header.append(json_quote(kMetadataKey)).append(":{");
    bool first = true;
    for (const auto& [key, value] : file.metadata) {
      header.append(first ? "" : ",").append(json_quote(key)).append(":").append(json_quote(value));
      first = false;
    }
    header += "}";
  }
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    if (name == kMetadataKey) throw usage_error("a tensor cannot be named '__metadata__'");
    if (!names.insert(name).second) throw usage_error("duplicate tensor name '" + name + "'");
    if (t.empty()) throw usage_error("tensor '" + name + "' has no data");
    std::string dims;
    for (Dim d : t.shape()) dims.append(dims.empty() ? "" : ",").append(std::to_string(d));
    header.append(header.size() > 1 ? "," : "")
        .append(json_quote(name))
        .append(":{\"dtype\":\"")
        .append(safetensors_name(t.dtype()))
        .append("\",\"shape\":[")
        .append(dims)
        .append("],\"data_offsets\":[")
        .append(std::to_string(offset))
        .append(",")
        .append(std::to_string(offset + t.nbytes()))
        .append("]}");
    offset += t.nbytes();
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  if (header.size() > kMaxHeaderBytes)
    throw usage_error("the safetensors header would take " + std::to_string(header.size()) +
                      " bytes, over the limit of " + std::to_string(kMaxHeaderBytes) + " readers accept");

  std::string out;
  for (int b = 0; b < 8; ++b) out += static_cast<char>((std::uint64_t{header.size()} >> (8 * b)) & 0xFF);
  return out + header;
}

std::string_view raw_bytes(const Tensor& t) { return {static_cast<const char*>(t.data()), t.nbytes()}; }

// Any nonzero byte is true; the file holds canonical 0/1 so readers agree.
std::string canonical_bools(const Tensor& t) {
  std::string out(raw_bytes(t));
  for (char& c : out) c = c ? '\1' : '\0';
  return out;
}

std::string tensor_bytes(const Tensor& t) {
  return t.dtype() == DType::boolean ? canonical_bools(t) : std::string(raw_bytes(t));
}

}  // namespace

const Tensor* TensorFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

std::string encode_safetensors(const TensorFile& file) {
  std::string out = encode_preamble(file);
  for (const auto& [name, t] : file.tensors) out += tensor_bytes(t);
  return out;
}

TensorFile decode_safetensors(const std::string& bytes, const std::string& source) {
  const HeaderReader reader(source);
  if (bytes.size() < 8)
    reader.fail("file of " + std::to_string(bytes.size()) +
                " bytes is too short for a safetensors header length (8 bytes)");
  std::uint64_t header_len = 0;
  for (int b = 0; b < 8; ++b) header_len |= std::uint64_t{static_cast<unsigned char>(bytes[b])} << (8 * b);
  if (header_len > kMaxHeaderBytes)
    reader.fail("header of " + std::to_string(header_len) + " bytes exceeds the limit of " +
                std::to_string(kMaxHeaderBytes));
  if (header_len > bytes.size() - 8)
    reader.fail("header length " + std::to_string(header_len) + " exceeds the " +
                std::to_string(bytes.size() - 8) + " bytes after the length field");

  JsonValue header;
  try {
    header = parse_json(std::string_view(bytes).substr(8, header_len), source);
  } catch (const Error& e) {
    reader.fail("invalid header: " + e.message());
  }
  if (!header.is_object())
    reader.fail(std::string("header must be a JSON object, not ") + JsonValue::kind_name(header.kind));

  TensorFile file;
  std::vector<Entry> entries;
  std::set<std::string_view> names;
  for (const auto& [name, value] : header.members) {
    if (!names.insert(name).second) reader.fail("duplicate name '" + printable(name) + "' in the header");
    if (name == kMetadataKey)
      file.metadata = reader.metadata(value);
    else
      entries.push_back(reader.entry(name, value));
  }
  const std::uint64_t data_start = 8 + header_len;
  reader.check_tiling(entries, bytes.size() - data_start);

  // Every size below is now bounded by the bytes actually present.
  for (const Entry& e : entries) {
    Tensor t(e.dtype, e.shape);
    if (t.nbytes()) std::memcpy(t.data(), bytes.data() + data_start + e.begin, t.nbytes());
    if (e.dtype == DType::boolean) {
      const auto* b = t.as<std::uint8_t>();
      for (std::size_t i = 0; i < t.nbytes(); ++i)
        if (b[i] > 1)
          reader.fail("tensor '" + printable(e.name) + "': bool element " + std::to_string(i) + " is " +
                      std::to_string(b[i]) + "; bool data must be 0 or 1");
    }
    file.tensors.emplace_back(e.name, std::move(t));
  }
  return file;
}

void write_safetensors(const fs::path& path, const TensorFile& file) {
  // Streams the data instead of building the file in memory: checkpoints
  // can be a large part of what the process holds.
  const std::string preamble = encode_preamble(file);
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(preamble.data(), static_cast<std::streamsize>(preamble.size()));
    for (const auto& [name, t] : file.tensors) {
      const std::string bools = t.dtype() == DType::boolean ? canonical_bools(t) : std::string();
      const std::string_view data = t.dtype() == DType::boolean ? std::string_view(bools) : raw_bytes(t);
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
    }
  });
}

TensorFile read_safetensors(const fs::path& path) {
  return decode_safetensors(read_input_file(path), path.string());
}

}  // namespace keel
