#include "serve/fast_json_inputs.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

namespace keel::serve {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  void space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool take(char c) {
    space();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    space();
    return p_ < end_ && *p_ == c;
  }
  bool at_end() {
    space();
    return p_ == end_;
  }
  // A string without escapes or control characters (else: not ours).
  std::optional<std::string_view> plain_string() {
    if (!take('"')) return std::nullopt;
    const char* start = p_;
    while (p_ < end_ && *p_ != '"') {
      if (*p_ == '\\' || static_cast<unsigned char>(*p_) < 0x20) return std::nullopt;
      ++p_;
    }
    if (p_ == end_) return std::nullopt;
    return std::string_view(start, std::size_t(p_++ - start));
  }
  // A number in strict JSON syntax (RFC 8259), as a finite float.
  std::optional<float> number() {
    space();
    const char* s = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_) return std::nullopt;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return std::nullopt;
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return std::nullopt;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return std::nullopt;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    // Parsed as a double and rounded once to float, as the general reader
    // does (a double, then the tensor's dtype).
    double v = 0;
    const auto r = std::from_chars(s, p_, v);
    if (r.ec != std::errc() || r.ptr != p_) return std::nullopt;
    const float f = static_cast<float>(v);
    if (!std::isfinite(f)) return std::nullopt;
    return f;
  }

 private:
  const char* p_;
  const char* end_;
};

// A number, or a nested array of them: the first array at each depth fixes
// that dimension's length (-1 until then) and the others must match; every
// number must sit at the same depth.
bool read_value(Reader& r, std::size_t depth, Shape& shape, long& leaf_depth, std::vector<float>& values) {
  if (r.take('[')) {
    // Deeper than any tensor: left to the general reader's depth limit.
    if (depth >= 32) return false;
    if (shape.size() <= depth) shape.push_back(-1);
    Dim count = 0;
    if (!r.peek(']')) {
      do {
        if (!read_value(r, depth + 1, shape, leaf_depth, values)) return false;
        ++count;
      } while (r.take(','));
    }
    if (!r.take(']')) return false;
    if (shape[depth] == -1) shape[depth] = count;
    return shape[depth] == count;
  }
  if (leaf_depth == -1) leaf_depth = static_cast<long>(depth);
  if (leaf_depth != static_cast<long>(depth)) return false;
  const auto v = r.number();
  if (!v) return false;
  values.push_back(*v);
  return true;
}

}  // namespace

std::optional<std::vector<Tensor>> fast_json_inputs(std::string_view body, const ValidatedGraph& graph) {
  const auto& decls = graph.def.inputs;
  for (const TensorSpec& spec : graph.input_specs)
    if (spec.dtype != DType::f32) return std::nullopt;
  Reader r(body);
  if (!r.take('{')) return std::nullopt;
  const auto key = r.plain_string();
  if (!key || *key != "inputs" || !r.take(':') || !r.take('{')) return std::nullopt;
  std::vector<std::optional<Tensor>> found(decls.size());
  if (!r.peek('}')) {
    do {
      const auto name = r.plain_string();
      if (!name || !r.take(':')) return std::nullopt;
      std::size_t i = 0;
      while (i < decls.size() && decls[i].name != *name) ++i;
      if (i == decls.size() || found[i]) return std::nullopt;
      Shape shape;
      long leaf_depth = -1;
      std::vector<float> values;
      if (!r.peek('[') || !read_value(r, 0, shape, leaf_depth, values)) return std::nullopt;
      if (leaf_depth != -1 && leaf_depth != static_cast<long>(shape.size())) return std::nullopt;
      for (Dim d : shape)
        if (d < 0) return std::nullopt;
      Tensor t(DType::f32, shape);
      if (t.numel() != static_cast<std::int64_t>(values.size())) return std::nullopt;
      if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
      found[i] = std::move(t);
    } while (r.take(','));
  }
  if (!r.take('}') || !r.take('}') || !r.at_end()) return std::nullopt;
  std::vector<Tensor> out;
  for (auto& t : found) {
    if (!t) return std::nullopt;  // a missing input: the general path says which
    out.push_back(std::move(*t));
  }
  return out;
}

}  // namespace keel::serve
