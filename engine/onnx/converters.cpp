// The converter table and the helpers converters share.
#include "onnx/converters.hpp"

#include <algorithm>
#include <map>

#include "base/error.hpp"

namespace keel::onnx {

namespace {

std::map<std::string, Converter>& table() {
  static std::map<std::string, Converter> t;
  return t;
}

void ensure_registered() {
  static const bool once = [] {
    register_layer_converters();
    register_tensor_converters();
    return true;
  }();
  (void)once;
}

const Attr* find_attr(const Node& n, const std::string& name, Attr::Kind kind) {
  auto it = n.attrs.find(name);
  if (it == n.attrs.end()) return nullptr;
  if (it->second.kind != kind) throw NotMapped{"attribute '" + name + "' has an unexpected type"};
  return &it->second;
}

}  // namespace

void add_converter(const std::string& op_type, Converter c) { table()[op_type] = std::move(c); }

const Converter* find_converter(const std::string& op_type) {
  ensure_registered();
  auto it = table().find(op_type);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<std::string> supported_op_types() {
  ensure_registered();
  std::vector<std::string> out;
  for (const auto& [k, v] : table()) out.push_back(k);
  return out;
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_mul_overflow(a, b, &r) || r > (std::int64_t{1} << 62))
    throw NotMapped{"its sizes are too large"};
  return r;
}

std::int64_t checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r) || r > (std::int64_t{1} << 62))
    throw NotMapped{"its sizes are too large"};
  return r;
}

void check_window_values(const std::vector<std::int64_t>& v, std::int64_t lo, const char* what) {
  for (std::int64_t x : v)
    if (x < lo || x > kMaxWindow)
      throw NotMapped{std::string(what) + " must be in [" + std::to_string(lo) + ", " +
                      std::to_string(kMaxWindow) + "], not " + std::to_string(x)};
}

std::int64_t attr_int(const Node& n, const std::string& name, std::int64_t fallback) {
  const Attr* a = find_attr(n, name, Attr::Kind::int_);
  return a ? a->i : fallback;
}

float attr_float(const Node& n, const std::string& name, float fallback) {
  const Attr* a = find_attr(n, name, Attr::Kind::float_);
  return a ? a->f : fallback;
}

std::string attr_string(const Node& n, const std::string& name, const std::string& fallback) {
  const Attr* a = find_attr(n, name, Attr::Kind::string);
  return a ? a->s : fallback;
}

std::vector<std::int64_t> attr_ints(const Node& n, const std::string& name,
                                    std::vector<std::int64_t> fallback) {
  const Attr* a = find_attr(n, name, Attr::Kind::ints);
  return a ? a->ints : fallback;
}

const Shape& input_shape(Importer& im, const Node& n, std::size_t i, int rank) {
  if (!im.has_input(n, i)) throw NotMapped{"input " + std::to_string(i) + " is required"};
  const Shape& s = im.value(n.inputs[i]).shape;
  if (rank >= 0 && s.size() != static_cast<std::size_t>(rank))
    throw NotMapped{"input " + std::to_string(i) + " has the shape " + im.dims_str(s) + ", not rank " +
                    std::to_string(rank)};
  return s;
}

std::int64_t normalized_axis(std::int64_t axis, std::size_t rank) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r)
    throw NotMapped{"axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(r)};
  return axis < 0 ? axis + r : axis;
}

Shape broadcast(const Importer& im, const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t k = 0; k < rank; ++k) {
    const Dim da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    const Dim db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    if (da == db || db == 1)
      out[k] = da;
    else if (da == 1)
      out[k] = db;
    else
      throw NotMapped{"shapes " + im.dims_str(a) + " and " + im.dims_str(b) + " do not broadcast"};
  }
  return out;
}

std::int64_t window_out(std::int64_t size, std::int64_t pad_begin, std::int64_t pad_end, std::int64_t kernel,
                        std::int64_t stride, std::int64_t dilation, bool ceil_mode) {
  const std::int64_t span = dilation * (kernel - 1) + 1;
  const std::int64_t room = size + pad_begin + pad_end - span;
  if (room < 0) throw NotMapped{"the window is larger than the padded input"};
  std::int64_t out = (ceil_mode ? (room + stride - 1) / stride : room / stride) + 1;
  // As PyTorch and ONNX Runtime: the last window must start inside the
  // input or its left padding.
  if (ceil_mode && (out - 1) * stride >= size + pad_begin) --out;
  return out;
}

std::vector<std::int64_t> window_pads(const Node& n, const Shape& x, const std::vector<std::int64_t>& kernel,
                                      const std::vector<std::int64_t>& stride,
                                      const std::vector<std::int64_t>& dilation) {
  const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    std::vector<std::int64_t> pads = attr_ints(n, "pads", {0, 0, 0, 0});
    if (pads.size() != 4) throw NotMapped{"pads must have 4 values for a 2-D window"};
    check_window_values(pads, 0, "pads");
    return pads;
  }
  if (auto_pad == "VALID") return {0, 0, 0, 0};
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") throw NotMapped{"auto_pad '" + auto_pad + "'"};
  std::vector<std::int64_t> pads(4);
  for (int d = 0; d < 2; ++d) {
    const Dim size = x[2 + d];
    if (!is_static(size)) throw NotMapped{"auto_pad needs a fixed image size"};
    const std::int64_t out = (size + stride[d] - 1) / stride[d];
    const std::int64_t total =
        std::max<std::int64_t>(0, (out - 1) * stride[d] + dilation[d] * (kernel[d] - 1) + 1 - size);
    const std::int64_t small = total / 2, large = total - small;
    pads[d] = auto_pad == "SAME_UPPER" ? small : large;
    pads[d + 2] = auto_pad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

std::vector<std::int64_t> keel_padding(const std::vector<std::int64_t>& pads) {
  if (pads[0] == pads[2] && pads[1] == pads[3]) return {pads[0], pads[1]};
  return pads;
}

void emit_unary(Importer& im, const Node& n, const std::string& op,
                std::vector<std::pair<std::string, std::string>> attrs) {
  emit_unary_from(im, n, 0, op, std::move(attrs));
}

void emit_unary_from(Importer& im, const Node& n, std::size_t input, const std::string& op,
                     std::vector<std::pair<std::string, std::string>> attrs) {
  const Shape shape = input_shape(im, n, input);
  KeelNode k{"", op, {im.ref(n, input)}, std::move(attrs), im.comment_for(n)};
  im.define(n, 0, im.emit(std::move(k), im.name_for(n)), shape);
}

std::string emit_reshape(Importer& im, const Node& n, const std::string& ref, const Shape& from,
                         const Shape& to, const std::string& name) {
  std::vector<std::int64_t> target;
  int symbolic = 0;
  Dim symbol = 0;
  for (Dim d : to) {
    if (is_static(d)) {
      target.push_back(d);
      continue;
    }
    ++symbolic;
    symbol = d;
    target.push_back(-1);
  }
  if (symbolic > 1) throw NotMapped{"the result " + im.dims_str(to) + " has more than one named size"};
  std::int64_t from_static = 1, to_static = 1;
  int from_symbolic = 0;
  for (Dim d : from) {
    if (is_static(d))
      from_static = checked_mul(from_static, d);
    else
      from_symbolic += d == symbol ? 1 : 2;
  }
  for (Dim d : to)
    if (is_static(d)) to_static = checked_mul(to_static, d);
  if (symbolic == 1 && (from_symbolic != 1 || from_static != to_static))
    throw NotMapped{"reshaping " + im.dims_str(from) + " to " + im.dims_str(to) +
                    " mixes a named size with others"};
  if (symbolic == 0 && from_symbolic != 0)
    throw NotMapped{"reshaping " + im.dims_str(from) + " to the fixed " + im.dims_str(to)};
  for (std::int64_t& t : target)
    if (t == 0) throw NotMapped{"a reshape to a size of 0"};
  KeelNode k{"", "reshape", {ref}, {{"shape", yaml_ints(target)}}, im.comment_for(n)};
  return im.emit(std::move(k), name);
}

}  // namespace keel::onnx
