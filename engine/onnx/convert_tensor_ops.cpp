// Ops without parameters: elementwise arithmetic and activations, softmax,
// and the ops that only move or relabel elements (Flatten, Reshape,
// Transpose, Concat), plus the bookkeeping ones (Constant, Identity,
// Dropout).
#include <algorithm>
#include <cstring>

#include "onnx/converters.hpp"

namespace keel::onnx {

namespace {

void binary(Importer& im, const Node& n, const std::string& op) {
  const Shape out = broadcast(im, input_shape(im, n, 0), input_shape(im, n, 1));
  // x * c for a single number c (PyTorch's `x * 0.0625`) is Keel's scale.
  if (op == "mul")
    for (std::size_t c = 0; c < 2; ++c) {
      const Tensor* k = im.constant(n, c);
      if (k && k->dtype() == DType::f32 && k->numel() == 1 && !im.constant(n, 1 - c) &&
          im.value(n.inputs[1 - c]).shape == out) {
        emit_unary_from(im, n, 1 - c, "scale", {{"factor", yaml_float(k->as<float>()[0])}});
        return;
      }
    }
  const std::string a = im.ref(n, 0), b = im.ref(n, 1);
  im.define(n, 0, im.emit({"", op, {a, b}, {}, im.comment_for(n)}, im.name_for(n)), out);
}

void softmax(Importer& im, const Node& n, const std::string& op) {
  const Shape& x = input_shape(im, n, 0);
  const bool coerced = im.opset() < 13;  // before 13: over every axis from `axis` on
  const std::int64_t axis = normalized_axis(attr_int(n, "axis", coerced ? 1 : -1), x.size());
  if (coerced && axis != static_cast<std::int64_t>(x.size()) - 1)
    throw NotMapped{"before opset 13 a Softmax over several axes is not supported"};
  emit_unary(im, n, op, {{"axis", std::to_string(axis)}});
}

// Identity, and Dropout in inference: Keel's dropout, with its ratio for
// fine-tuning (p: 0 when the model has none).
void dropout_like(Importer& im, const Node& n, float ratio) {
  emit_unary(im, n, "dropout", {{"p", yaml_float(ratio)}});
}

void dropout(Importer& im, const Node& n) {
  float ratio = attr_float(n, "ratio", 0.5f);  // opset 11's attribute
  if (im.has_input(n, 1)) {
    const Tensor* r = im.constant(n, 1);
    if (!r || r->dtype() != DType::f32 || r->numel() != 1) throw NotMapped{"ratio must be a FLOAT constant"};
    ratio = r->as<float>()[0];
  } else if (im.opset() >= 12) {
    ratio = 0.5f;
  }
  if (im.has_input(n, 2)) throw NotMapped{"training_mode is not supported (export in eval mode)"};
  if (n.outputs.size() > 1 && !n.outputs[1].empty() && im.is_used(n.outputs[1]))
    throw NotMapped{"its mask output is not supported"};
  if (ratio < 0.0f || ratio >= 1.0f) throw NotMapped{"ratio must be in [0, 1)"};
  dropout_like(im, n, ratio);
}

void constant(Importer& im, const Node& n) {
  if (n.attrs.count("value")) {
    const Attr& a = n.attrs.at("value");
    if (a.kind != Attr::Kind::tensor) throw NotMapped{"'value' is not a tensor"};
    im.define_constant(n, 0, a.t);
    return;
  }
  if (n.attrs.count("value_float")) {
    Tensor t(DType::f32, {});
    t.as<float>()[0] = attr_float(n, "value_float", 0);
    im.define_constant(n, 0, t);
    return;
  }
  if (n.attrs.count("value_floats")) {
    const auto& v = n.attrs.at("value_floats").floats;
    Tensor t(DType::f32, {static_cast<Dim>(v.size())});
    for (std::size_t k = 0; k < v.size(); ++k) t.as<float>()[k] = v[k];
    im.define_constant(n, 0, t);
    return;
  }
  if (n.attrs.count("value_int") || n.attrs.count("value_ints")) {
    const bool one = n.attrs.count("value_int");
    const auto v =
        one ? std::vector<std::int64_t>{attr_int(n, "value_int", 0)} : attr_ints(n, "value_ints", {});
    Tensor t(DType::i64, one ? Shape{} : Shape{static_cast<Dim>(v.size())});
    for (std::size_t k = 0; k < v.size(); ++k) t.as<std::int64_t>()[k] = v[k];
    im.define_constant(n, 0, t);
    return;
  }
  throw NotMapped{"only value, value_float(s) and value_int(s) constants are supported"};
}

// The product of a group of sizes: static, or one symbol times 1s.
Dim merged(const Importer& im, const Shape& s, std::size_t from, std::size_t to) {
  std::int64_t product = 1;
  Dim symbol = 1;
  int symbols = 0;
  for (std::size_t k = from; k < to; ++k) {
    if (is_static(s[k])) {
      product = checked_mul(product, s[k]);
    } else {
      ++symbols;
      symbol = s[k];
    }
  }
  if (symbols == 0) return product;
  if (symbols == 1 && product == 1) return symbol;
  throw NotMapped{"merging the sizes of " + im.dims_str(s) + " would mix a named size with others"};
}

void flatten(Importer& im, const Node& n) {
  const Shape& x = input_shape(im, n, 0);
  std::int64_t axis = attr_int(n, "axis", 1);
  if (axis < 0) axis += static_cast<std::int64_t>(x.size());
  if (axis < 0 || axis > static_cast<std::int64_t>(x.size())) throw NotMapped{"axis out of range"};
  const auto a = static_cast<std::size_t>(axis);
  const Shape out{merged(im, x, 0, a), merged(im, x, a, x.size())};
  if (axis == 1) {
    KeelNode k{"", "flatten", {im.ref(n, 0)}, {{"axis", "1"}}, im.comment_for(n)};
    im.define(n, 0, im.emit(std::move(k), im.name_for(n)), out);
    return;
  }
  im.define(n, 0, emit_reshape(im, n, im.ref(n, 0), x, out, im.name_for(n)), out);
}

void reshape(Importer& im, const Node& n) {
  const Shape& x = input_shape(im, n, 0);
  const Tensor* s = im.constant(n, 1);
  if (!s || s->dtype() != DType::i64 || s->shape().size() != 1)
    throw NotMapped{"the target shape must be a constant INT64 vector"};
  const bool allowzero = attr_int(n, "allowzero", 0) != 0;
  const std::int64_t* t = s->as<std::int64_t>();
  Shape out;
  int infer = -1;
  for (std::int64_t k = 0; k < s->numel(); ++k) {
    if (t[k] == -1) {
      if (infer >= 0) throw NotMapped{"the target shape has two -1 sizes"};
      infer = static_cast<int>(k);
      out.push_back(1);
    } else if (t[k] == 0 && !allowzero) {
      if (static_cast<std::size_t>(k) >= x.size())
        throw NotMapped{"a 0 in the target shape has no input size"};
      out.push_back(x[static_cast<std::size_t>(k)]);
    } else if (t[k] < 0 || t[k] > kMaxDim) {
      throw NotMapped{"the target shape has a size out of range (" + std::to_string(t[k]) + ")"};
    } else {
      out.push_back(t[k]);
    }
  }
  if (infer >= 0) {
    // What is left of x's sizes once the others are taken out.
    std::int64_t xs = 1, os = 1;
    std::vector<Dim> xsym, osym;
    for (Dim d : x) is_static(d) ? void(xs = checked_mul(xs, d)) : xsym.push_back(d);
    for (Dim d : out) is_static(d) ? void(os = checked_mul(os, d)) : osym.push_back(d);
    for (Dim d : osym) {
      auto it = std::find(xsym.begin(), xsym.end(), d);
      if (it == xsym.end()) throw NotMapped{"the target shape's sizes do not divide the input's"};
      xsym.erase(it);
    }
    if (os == 0 || xs % os != 0 || xsym.size() > 1 || (xsym.size() == 1 && xs != os))
      throw NotMapped{"the target shape does not fit " + im.dims_str(x)};
    out[static_cast<std::size_t>(infer)] = xsym.empty() ? xs / os : xsym[0];
  }
  im.define(n, 0, emit_reshape(im, n, im.ref(n, 0), x, out, im.name_for(n)), out);
}

// out[i] = in[j] where out's index along axis k is in's along perm[k]
// (numpy.transpose); any dtype, by bytes.
Tensor permuted(const Tensor& t, const std::vector<std::int64_t>& perm) {
  const Shape& in = t.shape();
  Shape out_shape;
  for (std::int64_t p : perm) out_shape.push_back(in[std::size_t(p)]);
  Tensor out(t.dtype(), out_shape);
  const std::size_t rank = in.size(), elem = dtype_size(t.dtype());
  std::vector<std::int64_t> in_stride(rank, 1), index(rank, 0);
  for (std::size_t k = rank; k-- > 1;) in_stride[k - 1] = in_stride[k] * in[k];
  const auto* src = static_cast<const unsigned char*>(t.data());
  auto* dst = static_cast<unsigned char*>(out.data());
  for (std::int64_t o = 0; o < out.numel(); ++o) {
    std::int64_t from = 0;
    for (std::size_t k = 0; k < rank; ++k) from += index[k] * in_stride[std::size_t(perm[k])];
    std::memcpy(dst + std::size_t(o) * elem, src + std::size_t(from) * elem, elem);
    for (std::size_t k = rank; k-- > 0;) {  // the next output index, last axis fastest
      if (++index[k] < out_shape[k]) break;
      index[k] = 0;
    }
  }
  return out;
}

void transpose(Importer& im, const Node& n) {
  const Shape& x = input_shape(im, n, 0);
  std::vector<std::int64_t> reversed;
  for (std::size_t k = x.size(); k-- > 0;) reversed.push_back(static_cast<std::int64_t>(k));
  const std::vector<std::int64_t> perm = attr_ints(n, "perm", reversed);
  if (perm.size() != x.size()) throw NotMapped{"perm does not match the input's rank"};
  Shape out;
  std::vector<bool> seen(x.size());
  for (std::int64_t p : perm) {
    if (p < 0 || p >= static_cast<std::int64_t>(x.size()) || seen[static_cast<std::size_t>(p)])
      throw NotMapped{"perm is not a permutation"};
    seen[static_cast<std::size_t>(p)] = true;
    out.push_back(x[static_cast<std::size_t>(p)]);
  }
  // A constant (PyTorch writes Transpose over weights when it does not fold
  // constants) is transposed here, so the MatMul reading it stays a layer.
  if (const Tensor* c = im.constant(n, 0)) return im.define_constant(n, 0, permuted(*c, perm));
  KeelNode k{"", "transpose", {im.ref(n, 0)}, {{"perm", yaml_ints(perm)}}, im.comment_for(n)};
  im.define(n, 0, im.emit(std::move(k), im.name_for(n)), out);
}

// Concat of k inputs: k - 1 two-input concats, left to right.
void concat(Importer& im, const Node& n) {
  if (n.inputs.empty()) throw NotMapped{"no inputs"};
  Shape acc = input_shape(im, n, 0);
  const std::int64_t axis = normalized_axis(attr_int(n, "axis", 0), acc.size());
  const auto a = static_cast<std::size_t>(axis);
  std::string ref = im.ref(n, 0);
  if (n.inputs.size() == 1) {
    dropout_like(im, n, 0.0f);
    return;
  }
  for (std::size_t i = 1; i < n.inputs.size(); ++i) {
    const Shape& s = input_shape(im, n, i, static_cast<int>(acc.size()));
    for (std::size_t d = 0; d < acc.size(); ++d)
      if (d != a && s[d] != acc[d]) throw NotMapped{"the inputs' sizes differ off the axis"};
    if (!is_static(acc[a]) || !is_static(s[a])) throw NotMapped{"sizes along the axis must be fixed"};
    acc[a] = checked_add(acc[a], s[a]);
    const bool last = i + 1 == n.inputs.size();
    KeelNode k{"", "concat", {ref, im.ref(n, i)}, {{"axis", std::to_string(axis)}}, im.comment_for(n)};
    ref = im.emit(std::move(k), last ? im.name_for(n) : im.name_for(n) + "_part" + std::to_string(i));
  }
  im.define(n, 0, ref, acc);
}

}  // namespace

void register_tensor_converters() {
  add_converter("Add", [](Importer& im, const Node& n) { binary(im, n, "add"); });
  add_converter("Sub", [](Importer& im, const Node& n) { binary(im, n, "sub"); });
  add_converter("Mul", [](Importer& im, const Node& n) { binary(im, n, "mul"); });
  add_converter("Div", [](Importer& im, const Node& n) { binary(im, n, "div"); });
  add_converter("Relu", [](Importer& im, const Node& n) { emit_unary(im, n, "relu"); });
  add_converter("Sigmoid", [](Importer& im, const Node& n) { emit_unary(im, n, "sigmoid"); });
  add_converter("Tanh", [](Importer& im, const Node& n) { emit_unary(im, n, "tanh"); });
  add_converter("LeakyRelu", [](Importer& im, const Node& n) {
    const float alpha = attr_float(n, "alpha", 0.01f);
    if (alpha < 0) throw NotMapped{"a negative alpha is not supported"};
    emit_unary(im, n, "leaky_relu", {{"negative_slope", yaml_float(alpha)}});
  });
  add_converter("Softmax", [](Importer& im, const Node& n) { softmax(im, n, "softmax"); });
  add_converter("LogSoftmax", [](Importer& im, const Node& n) { softmax(im, n, "log_softmax"); });
  add_converter("Flatten", flatten);
  add_converter("Reshape", reshape);
  add_converter("Transpose", transpose);
  add_converter("Concat", concat);
  add_converter("Constant", constant);
  add_converter("Identity", [](Importer& im, const Node& n) {
    // PyTorch writes Identity nodes over initializers: still constants.
    if (const Tensor* c = im.constant(n, 0)) return im.define_constant(n, 0, *c);
    dropout_like(im, n, 0.0f);
  });
  add_converter("Dropout", dropout);
}

}  // namespace keel::onnx
