// Layers with parameters (Gemm, MatMul, Conv, ConvTranspose,
// BatchNormalization) and the window ops (MaxPool, AveragePool,
// GlobalAveragePool). Weights that are initializers become the Keel op's own
// parameters, so an imported model fine-tunes like one written by hand.
#include <cmath>
#include <cstring>

#include "onnx/converters.hpp"

namespace keel::onnx {

namespace {

using Attrs = std::vector<std::pair<std::string, std::string>>;

Tensor transposed(const Tensor& t) {
  const auto rows = t.shape()[0], cols = t.shape()[1];
  Tensor out(DType::f32, {cols, rows});
  const float* in = t.as<float>();
  float* o = out.as<float>();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) o[c * rows + r] = in[r * cols + c];
  return out;
}

Tensor scaled(Tensor t, float factor) {
  if (factor == 1.0f) return t;
  Tensor out = t.clone();
  float* p = out.as<float>();
  for (std::int64_t k = 0; k < out.numel(); ++k) p[k] *= factor;
  return out;
}

const Tensor& f32_constant(Importer& im, const Node& n, std::size_t i, const char* what) {
  const Tensor* t = im.constant(n, i);
  if (!t || t->dtype() != DType::f32)
    throw NotMapped{std::string(what) + " must be a FLOAT initializer (it becomes the layer's parameter)"};
  return *t;
}

// A per-channel vector of `count` values from a bias such as Gemm's C:
// [count], [1, count], [1] or a scalar.
Tensor channel_vector(const Tensor& c, std::int64_t count, const char* what) {
  const std::int64_t n = c.numel();
  bool ok = n == count || n == 1;
  for (std::size_t d = 0; d + 1 < c.shape().size(); ++d) ok = ok && c.shape()[d] == 1;
  if (!ok) throw NotMapped{std::string(what) + " must hold one value per output unit"};
  Tensor out(DType::f32, {count});
  for (std::int64_t k = 0; k < count; ++k) out.as<float>()[k] = c.as<float>()[n == 1 ? 0 : k];
  return out;
}

Tensor zeros(std::int64_t count) { return Tensor(DType::f32, {count}); }

// Gemm: Y = alpha * A' B' + beta * C. With B an initializer and A not
// transposed it is a `linear` (weight = alpha * B' stored [units, in]);
// otherwise transposes, a matmul and the scaling and addition it needs.
void gemm(Importer& im, const Node& n) {
  const Shape a = input_shape(im, n, 0, 2);
  const Shape b = input_shape(im, n, 1, 2);
  const bool ta = attr_int(n, "transA", 0) != 0, tb = attr_int(n, "transB", 0) != 0;
  const float alpha = attr_float(n, "alpha", 1.0f), beta = attr_float(n, "beta", 1.0f);
  const Dim m = ta ? a[1] : a[0];
  const Dim nn = tb ? b[0] : b[1];
  if ((ta ? a[0] : a[1]) != (tb ? b[1] : b[0])) throw NotMapped{"A and B do not multiply"};
  const std::string name = im.name_for(n);
  const Tensor* bc = im.constant(n, 1);
  const Tensor* cc = im.has_input(n, 2) ? im.constant(n, 2) : nullptr;
  const bool c_vector = cc && cc->dtype() == DType::f32 && is_static(nn) &&
                        (cc->numel() == nn || cc->numel() == 1) &&
                        (cc->shape().size() < 2 || cc->shape()[0] == 1);
  if (!ta && bc && bc->dtype() == DType::f32 && (!im.has_input(n, 2) || c_vector)) {
    const std::string x = im.ref(n, 0);
    Attrs attrs{{"units", std::to_string(nn)}};
    if (!im.has_input(n, 2)) attrs.emplace_back("bias", "false");
    const std::string node = im.emit({"", "linear", {x}, attrs, im.comment_for(n)}, name);
    im.param(node, "weight", scaled(tb ? bc->clone() : transposed(*bc), alpha));
    im.param(node, "bias", im.has_input(n, 2) ? scaled(channel_vector(*cc, nn, "C"), beta) : zeros(nn));
    im.define(n, 0, node, {m, nn});
    return;
  }
  std::string lhs = im.ref(n, 0), rhs = im.ref(n, 1);
  if (ta) lhs = im.emit({"", "transpose", {lhs}, {{"perm", "[1, 0]"}}, im.comment_for(n)}, name + "_a_t");
  if (tb) rhs = im.emit({"", "transpose", {rhs}, {{"perm", "[1, 0]"}}, im.comment_for(n)}, name + "_b_t");
  const bool more = alpha != 1.0f || im.has_input(n, 2);
  std::string y = im.emit({"", "matmul", {lhs, rhs}, {}, im.comment_for(n)}, more ? name + "_ab" : name);
  if (alpha != 1.0f)
    y = im.emit({"", "scale", {y}, {{"factor", yaml_float(alpha)}}, im.comment_for(n)},
                im.has_input(n, 2) ? name + "_alpha" : name);
  Shape out{m, nn};
  if (im.has_input(n, 2)) {
    std::string c = im.ref(n, 2);
    out = broadcast(im, out, im.value(n.inputs[2]).shape);
    if (beta != 1.0f)
      c = im.emit({"", "scale", {c}, {{"factor", yaml_float(beta)}}, im.comment_for(n)}, name + "_beta");
    y = im.emit({"", "add", {y, c}, {}, im.comment_for(n)}, name);
  }
  im.define(n, 0, y, out);
}

// MatMul: with a 2-D initializer B, a bias-free `linear`; else `matmul`.
void matmul(Importer& im, const Node& n) {
  const Shape a = input_shape(im, n, 0);
  const Shape b = input_shape(im, n, 1);
  if (a.size() < 2 || b.size() < 2) throw NotMapped{"1-D operands are not supported"};
  if (a.back() != b[b.size() - 2]) throw NotMapped{"A and B do not multiply"};
  Shape out = a;
  out.back() = b.back();
  const Tensor* bc = im.constant(n, 1);
  if (bc && bc->dtype() == DType::f32 && b.size() == 2) {
    // PyTorch writes nn.Linear on inputs of rank 3 or more as MatMul then
    // Add of the bias: one linear with its bias, when that Add alone reads
    // the product and its other operand is a vector of the units.
    const Node* add = im.sole_reader(n.outputs[0]);
    const Tensor* bias = nullptr;
    if (add && add->op_type == "Add" && add->inputs.size() == 2 && !im.is_graph_output(n.outputs[0])) {
      const std::size_t other = add->inputs[0] == n.outputs[0] ? 1 : 0;
      const Tensor* c = im.constant(*add, other);
      if (c && c->dtype() == DType::f32 && c->shape().size() == 1 && c->shape()[0] == b[1]) bias = c;
    }
    const std::string node = im.emit({"",
                                      "linear",
                                      {im.ref(n, 0)},
                                      {{"units", std::to_string(b[1])}, {"bias", bias ? "true" : "false"}},
                                      im.comment_for(n) + (bias ? " and " + im.comment_for(*add) : "")},
                                     im.name_for(bias ? *add : n));  // the Add's name when absorbed
    im.param(node, "weight", transposed(*bc));
    im.param(node, "bias", bias ? bias->clone() : zeros(b[1]));
    im.define(n, 0, node, out);
    if (bias) im.absorb(*add, node, out);
    return;
  }
  if (b.size() != 2 && b.size() != a.size()) throw NotMapped{"B must be 2-D or have A's rank"};
  if (b.size() == a.size())
    for (std::size_t d = 0; d + 2 < a.size(); ++d)
      if (a[d] != b[d]) throw NotMapped{"batched operands must have the same leading sizes"};
  const std::string node =
      im.emit({"", "matmul", {im.ref(n, 0), im.ref(n, 1)}, {}, im.comment_for(n)}, im.name_for(n));
  im.define(n, 0, node, out);
}

struct Window {
  std::vector<std::int64_t> kernel, stride, dilation, pads;
};

Window window_of(const Node& n, const Shape& x, std::vector<std::int64_t> kernel) {
  Window w;
  w.kernel = attr_ints(n, "kernel_shape", kernel);
  if (w.kernel.size() != 2) throw NotMapped{"only 2-D windows are supported"};
  w.stride = attr_ints(n, "strides", {1, 1});
  w.dilation = attr_ints(n, "dilations", {1, 1});
  if (w.stride.size() != 2 || w.dilation.size() != 2) throw NotMapped{"strides and dilations need 2 values"};
  check_window_values(w.kernel, 1, "kernel_shape");
  check_window_values(w.stride, 1, "strides");
  check_window_values(w.dilation, 1, "dilations");
  w.pads = window_pads(n, x, w.kernel, w.stride, w.dilation);
  return w;
}

bool ones(const std::vector<std::int64_t>& v) {
  for (auto x : v)
    if (x != 1) return false;
  return true;
}

void conv(Importer& im, const Node& n) {
  const Shape x = input_shape(im, n, 0, 4);
  const Tensor& w = f32_constant(im, n, 1, "W");
  if (w.shape().size() != 4) throw NotMapped{"only 2-D convolutions are supported"};
  if (attr_int(n, "group", 1) != 1) throw NotMapped{"grouped convolutions are not supported"};
  if (!is_static(x[1]) || x[1] != w.shape()[1]) throw NotMapped{"W's input channels do not match x"};
  const Window win = window_of(n, x, {w.shape()[2], w.shape()[3]});
  if (win.kernel[0] != w.shape()[2] || win.kernel[1] != w.shape()[3])
    throw NotMapped{"kernel_shape differs from W"};
  const std::int64_t filters = w.shape()[0];
  Shape out{x[0], filters, 0, 0};
  for (int d = 0; d < 2; ++d) {
    if (!is_static(x[2 + d])) throw NotMapped{"the image size must be fixed"};
    out[2 + d] = window_out(x[2 + d], win.pads[d], win.pads[d + 2], win.kernel[d], win.stride[d],
                            win.dilation[d], false);
  }
  Attrs attrs{{"filters", std::to_string(filters)}, {"kernel", yaml_ints(win.kernel)}};
  if (!ones(win.stride)) attrs.emplace_back("stride", yaml_ints(win.stride));
  const auto pad = keel_padding(win.pads);
  if (pad != std::vector<std::int64_t>{0, 0}) attrs.emplace_back("padding", yaml_ints(pad));
  if (!ones(win.dilation)) attrs.emplace_back("dilation", yaml_ints(win.dilation));
  if (!im.has_input(n, 2)) attrs.emplace_back("bias", "false");
  const std::string node = im.emit({"", "conv2d", {im.ref(n, 0)}, attrs, im.comment_for(n)}, im.name_for(n));
  im.param(node, "weight", w.clone());
  im.param(node, "bias",
           im.has_input(n, 2) ? channel_vector(f32_constant(im, n, 2, "B"), filters, "B") : zeros(filters));
  im.define(n, 0, node, out);
}

void conv_transpose(Importer& im, const Node& n) {
  const Shape x = input_shape(im, n, 0, 4);
  const Tensor& w = f32_constant(im, n, 1, "W");
  if (w.shape().size() != 4) throw NotMapped{"only 2-D transposed convolutions are supported"};
  if (attr_int(n, "group", 1) != 1) throw NotMapped{"grouped convolutions are not supported"};
  if (!is_static(x[1]) || x[1] != w.shape()[0]) throw NotMapped{"W's input channels do not match x"};
  std::vector<std::int64_t> kernel = attr_ints(n, "kernel_shape", {w.shape()[2], w.shape()[3]});
  const auto stride = attr_ints(n, "strides", {1, 1});
  if (kernel.size() != 2 || stride.size() != 2) throw NotMapped{"only 2-D windows are supported"};
  check_window_values(kernel, 1, "kernel_shape");
  check_window_values(stride, 1, "strides");
  if (!ones(attr_ints(n, "dilations", {1, 1})))
    throw NotMapped{"dilated transposed convolutions are not supported"};
  std::vector<std::int64_t> out_pad = attr_ints(n, "output_padding", {0, 0});
  std::vector<std::int64_t> pads = attr_ints(n, "pads", {0, 0, 0, 0});
  if (out_pad.size() != 2 || pads.size() != 4) throw NotMapped{"output_padding needs 2 values and pads 4"};
  check_window_values(out_pad, 0, "output_padding");
  check_window_values(pads, 0, "pads");
  const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
  const auto output_shape = attr_ints(n, "output_shape", {});
  Shape out{x[0], w.shape()[1], 0, 0};
  for (int d = 0; d < 2; ++d) {
    if (!is_static(x[2 + d])) throw NotMapped{"the image size must be fixed"};
    const std::int64_t full = (x[2 + d] - 1) * stride[d] + kernel[d] + out_pad[d];
    std::int64_t want = -1;
    if (!output_shape.empty()) {
      if (output_shape.size() < 2) throw NotMapped{"output_shape needs the image's 2 sizes"};
      want = output_shape[output_shape.size() - 2 + d];
      if (want < 1 || want > kMaxDim) throw NotMapped{"output_shape is out of range"};
    }
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") want = x[2 + d] * stride[d];
    if (want >= 0) {
      // ONNX: total padding = full - want, the odd one at the end
      // (SAME_UPPER, output_shape) or at the start (SAME_LOWER).
      const std::int64_t total = full - want;
      if (total < 0) {
        if (-total > kMaxWindow) throw NotMapped{"output_shape is out of range"};
        out_pad[d] += -total;
        pads[d] = pads[d + 2] = 0;
      } else {
        pads[d] = auto_pad == "SAME_LOWER" ? total - total / 2 : total / 2;
        pads[d + 2] = total - pads[d];
      }
    }
    out[2 + d] = full - pads[d] - pads[d + 2];
  }
  Attrs attrs{{"filters", std::to_string(w.shape()[1])}, {"kernel", yaml_ints(kernel)}};
  if (!ones(stride)) attrs.emplace_back("stride", yaml_ints(stride));
  const auto pad = keel_padding(pads);
  if (pad != std::vector<std::int64_t>{0, 0}) attrs.emplace_back("padding", yaml_ints(pad));
  if (out_pad[0] || out_pad[1]) attrs.emplace_back("output_padding", yaml_ints(out_pad));
  if (!im.has_input(n, 2)) attrs.emplace_back("bias", "false");
  const std::string node =
      im.emit({"", "conv_transpose2d", {im.ref(n, 0)}, attrs, im.comment_for(n)}, im.name_for(n));
  im.param(node, "weight", w.clone());
  im.param(node, "bias",
           im.has_input(n, 2) ? channel_vector(f32_constant(im, n, 2, "B"), w.shape()[1], "B")
                              : zeros(w.shape()[1]));
  im.define(n, 0, node, out);
}

// BatchNormalization in its inference form; ONNX's momentum weighs the old
// running value (0.9), Keel's the batch's (0.1), as PyTorch does.
void batch_norm(Importer& im, const Node& n) {
  const Shape x = input_shape(im, n, 0);
  if (x.size() != 2 && x.size() != 4) throw NotMapped{"x must be [N, C] or [N, C, H, W]"};
  if (attr_int(n, "training_mode", 0) != 0)
    throw NotMapped{"training_mode 1 is not supported (export in eval mode)"};
  for (std::size_t o = 1; o < n.outputs.size(); ++o)
    if (!n.outputs[o].empty()) throw NotMapped{"its training outputs (running statistics) are not supported"};
  if (!is_static(x[1])) throw NotMapped{"the channel count must be fixed"};
  const std::int64_t c = x[1];
  const char* names[] = {"gamma", "beta", "running_mean", "running_var"};
  const char* onnx_names[] = {"scale", "B", "input_mean", "input_var"};
  Attrs attrs;
  const float eps = attr_float(n, "epsilon", 1e-5f);
  if (eps != 1e-5f) attrs.emplace_back("epsilon", yaml_float(eps));
  const float momentum = 1.0f - attr_float(n, "momentum", 0.9f);
  if (std::abs(momentum - 0.1f) > 1e-7f) attrs.emplace_back("momentum", yaml_float(momentum));
  const std::string node =
      im.emit({"", "batchnorm", {im.ref(n, 0)}, attrs, im.comment_for(n)}, im.name_for(n));
  for (int p = 0; p < 4; ++p) {
    const Tensor& t = f32_constant(im, n, static_cast<std::size_t>(p + 1), onnx_names[p]);
    if (t.numel() != c) throw NotMapped{std::string(onnx_names[p]) + " must hold one value per channel"};
    im.param(node, names[p], channel_vector(t, c, onnx_names[p]));
  }
  im.define(n, 0, node, x);
}

void pool(Importer& im, const Node& n, bool max) {
  const Shape x = input_shape(im, n, 0, 4);
  if (max && n.outputs.size() > 1 && !n.outputs[1].empty())
    throw NotMapped{"the Indices output is not supported"};
  if (!n.attrs.count("kernel_shape")) throw NotMapped{"kernel_shape is required"};
  const Window win = window_of(n, x, {});
  const bool ceil_mode = attr_int(n, "ceil_mode", 0) != 0;
  if (!max && !ones(win.dilation)) throw NotMapped{"dilated average pooling is not supported"};
  Shape out{x[0], x[1], 0, 0};
  for (int d = 0; d < 2; ++d) {
    if (!is_static(x[2 + d])) throw NotMapped{"the image size must be fixed"};
    out[2 + d] = window_out(x[2 + d], win.pads[d], win.pads[d + 2], win.kernel[d], win.stride[d],
                            win.dilation[d], ceil_mode);
  }
  Attrs attrs{{"kernel", yaml_ints(win.kernel)}, {"stride", yaml_ints(win.stride)}};
  const auto pad = keel_padding(win.pads);
  if (pad != std::vector<std::int64_t>{0, 0}) attrs.emplace_back("padding", yaml_ints(pad));
  if (ceil_mode) attrs.emplace_back("ceil_mode", "true");
  if (max && !ones(win.dilation)) attrs.emplace_back("dilation", yaml_ints(win.dilation));
  // ONNX counts only the input's pixels by default (PyTorch counts the pad).
  if (!max) attrs.emplace_back("count_include_pad", attr_int(n, "count_include_pad", 0) ? "true" : "false");
  const std::string node = im.emit(
      {"", max ? "max_pool2d" : "avg_pool2d", {im.ref(n, 0)}, attrs, im.comment_for(n)}, im.name_for(n));
  im.define(n, 0, node, out);
}

// GlobalAveragePool keeps [N, C, 1, 1]; Keel's global_avg_pool gives
// [N, C], reshaped back.
void global_avg_pool(Importer& im, const Node& n) {
  const Shape x = input_shape(im, n, 0, 4);
  const std::string name = im.name_for(n);
  const std::string pooled =
      im.emit({"", "global_avg_pool", {im.ref(n, 0)}, {}, im.comment_for(n)}, name + "_nc");
  const Shape nc{x[0], x[1]}, out{x[0], x[1], 1, 1};
  im.define(n, 0, emit_reshape(im, n, pooled, nc, out, name), out);
}

}  // namespace

void register_layer_converters() {
  add_converter("Gemm", gemm);
  add_converter("MatMul", matmul);
  add_converter("Conv", conv);
  add_converter("ConvTranspose", conv_transpose);
  add_converter("BatchNormalization", batch_norm);
  add_converter("MaxPool", [](Importer& im, const Node& n) { pool(im, n, true); });
  add_converter("AveragePool", [](Importer& im, const Node& n) { pool(im, n, false); });
  add_converter("GlobalAveragePool", global_avg_pool);
}

}  // namespace keel::onnx
