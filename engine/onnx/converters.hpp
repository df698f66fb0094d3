// What the converters share: reading ONNX attributes with their defaults,
// and the shape rules of broadcasting, windows and padding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx/importer.hpp"

namespace keel::onnx {

// Sizes the importer accepts: a static dimension at most kMaxDim (2^31),
// window parameters (kernel, stride, dilation, pads) at most kMaxWindow, so
// that the shape arithmetic below cannot overflow; products go through
// checked_mul.
inline constexpr std::int64_t kMaxDim = std::int64_t{1} << 31;
inline constexpr std::int64_t kMaxWindow = 65536;
std::int64_t checked_mul(std::int64_t a, std::int64_t b);
std::int64_t checked_add(std::int64_t a, std::int64_t b);
// NotMapped unless every value is in [lo, kMaxWindow].
void check_window_values(const std::vector<std::int64_t>& v, std::int64_t lo, const char* what);

std::int64_t attr_int(const Node& n, const std::string& name, std::int64_t fallback);
float attr_float(const Node& n, const std::string& name, float fallback);
std::string attr_string(const Node& n, const std::string& name, const std::string& fallback);
std::vector<std::int64_t> attr_ints(const Node& n, const std::string& name,
                                    std::vector<std::int64_t> fallback);

// The input's shape; NotMapped unless its rank is `rank` (or any, for -1).
const Shape& input_shape(Importer& im, const Node& n, std::size_t i, int rank = -1);
// An axis in [0, rank), or NotMapped.
std::int64_t normalized_axis(std::int64_t axis, std::size_t rank);

// NumPy broadcasting of two shapes; NotMapped when they do not broadcast.
Shape broadcast(const Importer& im, const Shape& a, const Shape& b);

// Explicit [top, left, bottom, right] padding for a 2-D window op from ONNX's
// pads / auto_pad, given the static input size.
std::vector<std::int64_t> window_pads(const Node& n, const Shape& x, const std::vector<std::int64_t>& kernel,
                                      const std::vector<std::int64_t>& stride,
                                      const std::vector<std::int64_t>& dilation);
// Output size of a window over `size` with the padding, as ONNX computes it.
std::int64_t window_out(std::int64_t size, std::int64_t pad_begin, std::int64_t pad_end, std::int64_t kernel,
                        std::int64_t stride, std::int64_t dilation, bool ceil_mode);
// Keel's `padding`: [ph, pw] when symmetric, else [top, left, bottom, right].
std::vector<std::int64_t> keel_padding(const std::vector<std::int64_t>& pads);

// A node with one input and the same shape out (relu, ...).
void emit_unary(Importer& im, const Node& n, const std::string& op,
                std::vector<std::pair<std::string, std::string>> attrs = {});
// The same, from input `input` of the node.
void emit_unary_from(Importer& im, const Node& n, std::size_t input, const std::string& op,
                     std::vector<std::pair<std::string, std::string>> attrs = {});
// Reshapes `ref` of shape `from` to `to` (at most one symbolic size, the
// same as `from`'s); returns the new reference.
std::string emit_reshape(Importer& im, const Node& n, const std::string& ref, const Shape& from,
                         const Shape& to, const std::string& name);

void register_layer_converters();
void register_tensor_converters();
void add_converter(const std::string& op_type, Converter c);

}  // namespace keel::onnx
