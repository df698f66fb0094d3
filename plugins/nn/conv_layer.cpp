#include "conv_layer.hpp"

namespace keel::nn::conv_layer {

Status read_pair(const char* op, const Attrs& attrs, const char* name, std::int64_t lo, std::int64_t& h,
                 std::int64_t& w) {
  const std::vector<std::int64_t>& v = attrs.ints(name);
  if (v.empty() || v.size() > 2)
    return fail(op, ": ", name, " must have 1 or 2 values (height, width), got ", v.size());
  for (std::int64_t x : v)
    if (x < lo || x > max_window)
      return fail(op, ": ", name, " values must lie in [", lo, ", ", max_window, "], got ", x);
  h = v[0];
  w = v.size() == 2 ? v[1] : v[0];
  return Status::Ok();
}

std::string Padding::str() const {
  if (symmetric()) return std::to_string(top) + "x" + std::to_string(left);
  return "[" + std::to_string(top) + ", " + std::to_string(left) + ", " + std::to_string(bottom) + ", " +
         std::to_string(right) + "]";
}

Status read_padding(const char* op, const Attrs& attrs, const char* name, Padding& p) {
  const std::vector<std::int64_t>& v = attrs.ints(name);
  if (v.size() != 1 && v.size() != 2 && v.size() != 4)
    return fail(op, ": ", name,
                " must have 1, 2 (height, width) or 4 (top, left, bottom, right) values, got ", v.size());
  for (std::int64_t x : v)
    if (x < 0 || x > max_window)
      return fail(op, ": ", name, " values must lie in [0, ", max_window, "], got ", x);
  p.top = v[0];
  p.left = v.size() == 1 ? v[0] : v[1];
  p.bottom = v.size() == 4 ? v[2] : p.top;
  p.right = v.size() == 4 ? v[3] : p.left;
  return Status::Ok();
}

Status CommonAttrs::read(const char* op, const Attrs& attrs) {
  filters = attrs.i("filters");
  if (filters < 1 || filters > max_window * max_window)
    return fail(op, ": filters must lie in [1, ", max_window * max_window, "], got ", filters);
  bias = attrs.b("bias");
  KEEL_RETURN_IF_ERROR(read_pair(op, attrs, "kernel", 1, kh, kw));
  KEEL_RETURN_IF_ERROR(read_pair(op, attrs, "stride", 1, sh, sw));
  return read_padding(op, attrs, "padding", pad);
}

void CommonAttrs::fill(du::ConvWindow& g, const Shape& x) const {
  g.n = x[0], g.c_in = x[1], g.h = x[2], g.w = x[3];
  g.c_out = filters, g.kh = kh, g.kw = kw;
  g.stride_h = sh, g.stride_w = sw, g.pad_h = pad.top, g.pad_w = pad.left;
  g.bias = bias;
}

Status check_image(const char* op, const TensorSpec& x_spec) {
  KEEL_RETURN_IF_ERROR(du::expect_f32(op, "x", x_spec));
  const Shape& x = x_spec.shape;
  if (x.size() != 4) return fail(op, ": x must be [N, C, H, W], got ", shape_str(x));
  if (!is_static(x[1]) || !is_static(x[2]) || !is_static(x[3]))
    return fail(op, ": x is ", shape_str(x),
                ": channels, height and width must be fixed sizes; only the batch may be named");
  if (x[1] < 1 || x[2] < 1 || x[3] < 1)
    return fail(op, ": x is ", shape_str(x), ": channels, height and width must be at least 1");
  return Status::Ok();
}

AttrSpec filters_attr() {
  return {"filters",
          AttrType::Int,
          "number of output channels",
          std::nullopt,
          1.0,
          double(max_window) * max_window,
          {}};
}

AttrSpec kernel_attr() {
  return {"kernel",
          AttrType::Ints,
          "kernel size [height, width], or [k] for a square kernel",
          std::nullopt,
          1.0,
          double(max_window),
          {}};
}

AttrSpec pair_attr(const char* name, const char* doc, std::int64_t value, double min) {
  return {name, AttrType::Ints,     doc, AttrValue(std::vector<std::int64_t>{value, value}),
          min,  double(max_window), {}};
}

AttrSpec padding_attr(const char* doc) {
  return {"padding", AttrType::Ints,     doc, AttrValue(std::vector<std::int64_t>{0, 0}),
          0.0,       double(max_window), {}};
}

AttrSpec bias_attr() {
  return {"bias",
          AttrType::Bool,
          "add the learned per-filter bias (when false the bias parameter stays unused)",
          AttrValue(true),
          std::nullopt,
          std::nullopt,
          {}};
}

ParamSpec bias_param() {
  return {"bias", "[filters], zero initialized; gradient zero when bias is false", Init::Zeros, true};
}

}  // namespace keel::nn::conv_layer
