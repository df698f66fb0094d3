// Keel ops in ONNX terms. Each node becomes one ONNX node, or a few where
// ONNX spells it in parts (a residual's projection and sum); parameters
// become initializers named as in the checkpoint (fc1.weight), values keep
// their Keel names (fc1, bn1, ...), and named sizes become dim_params.
#include "onnx/exporter.hpp"

#include <functional>
#include <map>
#include <set>

#include "base/error.hpp"

namespace keel::onnx {

namespace {

Attr int_attr(std::int64_t v) {
  Attr a;
  a.kind = Attr::Kind::int_;
  a.i = v;
  return a;
}

Attr float_attr(double v) {
  Attr a;
  a.kind = Attr::Kind::float_;
  a.f = static_cast<float>(v);
  return a;
}

Attr ints_attr(std::vector<std::int64_t> v) {
  Attr a;
  a.kind = Attr::Kind::ints;
  a.ints = std::move(v);
  return a;
}

// Keel's [k] / [h, w] pairs as ONNX's two values.
std::vector<std::int64_t> pair(const std::vector<std::int64_t>& v) {
  return v.size() == 1 ? std::vector<std::int64_t>{v[0], v[0]} : v;
}

// Keel's padding ([p], [ph, pw] or [top, left, bottom, right]) as ONNX pads.
std::vector<std::int64_t> onnx_pads(const std::vector<std::int64_t>& v) {
  if (v.size() == 4) return v;
  const auto p = pair(v);
  return {p[0], p[1], p[0], p[1]};
}

class Exporter {
 public:
  explicit Exporter(const Plan& plan) : plan_(plan), g_(plan.graph()) {}

  Model run();

  // What a converter works with.
  const PlannedNode* pn = nullptr;
  const Attrs* attrs = nullptr;
  std::string in(std::size_t i) const { return plan_.value_name(pn->inputs[i]); }
  std::string out(std::size_t i = 0) const { return plan_.value_name(pn->outputs[i]); }
  const Shape& in_shape(std::size_t i) const { return plan_.values()[std::size_t(pn->inputs[i])].shape; }
  const Shape& out_shape(std::size_t i = 0) const {
    return plan_.values()[std::size_t(pn->outputs[i])].shape;
  }
  const Parameter& param(std::size_t k) const { return plan_.params()[std::size_t(pn->params[k])]; }
  std::string node_name() const { return g_.def.nodes[std::size_t(pn->node)].name; }
  // The parameter as an initializer under its checkpoint name.
  std::string param_init(std::size_t k) { return add_init(param(k).name, param(k).value); }
  std::string add_init(const std::string& name, const Tensor& t) {
    if (!init_names_.insert(name).second) return name;
    model_.initializers.emplace_back(name, t);
    return name;
  }
  std::string scalar(const std::string& name, float v) {
    Tensor t(DType::f32, {});
    t.as<float>()[0] = v;
    return add_init(name, t);
  }
  std::string ints(const std::string& name, const std::vector<std::int64_t>& v) {
    Tensor t(DType::i64, {static_cast<Dim>(v.size())});
    for (std::size_t k = 0; k < v.size(); ++k) t.as<std::int64_t>()[k] = v[k];
    return add_init(name, t);
  }
  void emit(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
            std::map<std::string, Attr> a = {}, const std::string& suffix = "") {
    Node n;
    n.name = node_name() + suffix;
    n.op_type = op;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    n.attrs = std::move(a);
    model_.nodes.push_back(std::move(n));
  }

 private:
  ValueInfo info(const std::string& name, const Shape& shape) const {
    ValueInfo v;
    v.name = name;
    v.elem_type = 1;  // FLOAT
    v.has_shape = true;
    for (Dim d : shape) {
      ValueInfo::Dim dim;
      if (is_static(d))
        dim.size = d;
      else
        dim.symbol = g_.symbols.at(std::size_t(-1 - d));
      v.dims.push_back(dim);
    }
    return v;
  }

  const Plan& plan_;
  const ValidatedGraph& g_;
  Model model_;
  std::set<std::string> init_names_;
};

using Rule = std::function<void(Exporter&)>;

void unary(Exporter& x, const std::string& op, std::map<std::string, Attr> a = {}) {
  x.emit(op, {x.in(0)}, {x.out()}, std::move(a));
}

// A layer's `activation: relu` is a Relu after it in ONNX: the layer writes
// `<out>_pre` and the Relu the value itself.
bool has_relu(const Exporter& x) { return x.attrs->s("activation") == "relu"; }
std::string layer_out(const Exporter& x) { return has_relu(x) ? x.out() + "_pre" : x.out(); }
void relu_after(Exporter& x) {
  if (has_relu(x)) x.emit("Relu", {x.out() + "_pre"}, {x.out()}, {}, "_relu");
}

void linear(Exporter& x) {
  const bool bias = x.attrs->b("bias");
  const std::string w = x.param_init(0);
  if (x.in_shape(0).size() == 2) {
    std::vector<std::string> ins = {x.in(0), w};
    if (bias) ins.push_back(x.param_init(1));
    x.emit("Gemm", ins, {layer_out(x)}, {{"transB", int_attr(1)}});
    return relu_after(x);
  }
  // [..., in] x [in, units]: the weight transposed once, at export.
  const Tensor& wt = x.param(0).value;
  const auto units = wt.shape()[0], inputs = wt.shape()[1];
  Tensor t(DType::f32, {inputs, units});
  for (std::int64_t r = 0; r < units; ++r)
    for (std::int64_t c = 0; c < inputs; ++c) t.as<float>()[c * units + r] = wt.as<float>()[r * inputs + c];
  const std::string wT = x.add_init(x.param(0).name + "_t", t);
  if (!bias) {
    x.emit("MatMul", {x.in(0), wT}, {layer_out(x)});
    return relu_after(x);
  }
  x.emit("MatMul", {x.in(0), wT}, {x.out() + "_xw"}, {}, "_matmul");
  x.emit("Add", {x.out() + "_xw", x.param_init(1)}, {layer_out(x)});
  relu_after(x);
}

// The Conv of a conv2d or conv2d_add node (its window, weight and bias),
// writing `out`.
void emit_conv(Exporter& x, const std::string& out, const std::string& suffix) {
  std::vector<std::string> ins = {x.in(0), x.param_init(0)};
  if (x.attrs->b("bias")) ins.push_back(x.param_init(1));
  x.emit("Conv", ins, {out},
         {{"kernel_shape", ints_attr(pair(x.attrs->ints("kernel")))},
          {"strides", ints_attr(pair(x.attrs->ints("stride")))},
          {"pads", ints_attr(onnx_pads(x.attrs->ints("padding")))},
          {"dilations", ints_attr(pair(x.attrs->ints("dilation")))}},
         suffix);
}

void conv(Exporter& x) {
  emit_conv(x, layer_out(x), "");
  relu_after(x);
}

// conv2d_add: Conv, then Add of the second input, then the activation.
void conv_add(Exporter& x) {
  emit_conv(x, x.out() + "_conv", "_conv");
  x.emit("Add", {x.out() + "_conv", x.in(1)}, {layer_out(x)});
  relu_after(x);
}

void conv_transpose(Exporter& x) {
  std::vector<std::string> ins = {x.in(0), x.param_init(0)};
  if (x.attrs->b("bias")) ins.push_back(x.param_init(1));
  x.emit("ConvTranspose", ins, {x.out()},
         {{"kernel_shape", ints_attr(pair(x.attrs->ints("kernel")))},
          {"strides", ints_attr(pair(x.attrs->ints("stride")))},
          {"pads", ints_attr(onnx_pads(x.attrs->ints("padding")))},
          {"output_padding", ints_attr(pair(x.attrs->ints("output_padding")))}});
}

void batchnorm(Exporter& x) {
  x.emit("BatchNormalization", {x.in(0), x.param_init(0), x.param_init(1), x.param_init(2), x.param_init(3)},
         {x.out()},
         {{"epsilon", float_attr(x.attrs->f("epsilon"))},
          {"momentum", float_attr(1.0 - x.attrs->f("momentum"))}});
}

void pool(Exporter& x, bool max) {
  const auto kernel = pair(x.attrs->ints("kernel"));
  const auto& stride = x.attrs->ints("stride");  // [] means the kernel's
  std::map<std::string, Attr> a = {{"kernel_shape", ints_attr(kernel)},
                                   {"strides", ints_attr(stride.empty() ? kernel : pair(stride))},
                                   {"pads", ints_attr(onnx_pads(x.attrs->ints("padding")))},
                                   {"ceil_mode", int_attr(x.attrs->b("ceil_mode") ? 1 : 0)}};
  if (max)
    a["dilations"] = ints_attr(pair(x.attrs->ints("dilation")));
  else
    a["count_include_pad"] = int_attr(x.attrs->b("count_include_pad") ? 1 : 0);
  x.emit(max ? "MaxPool" : "AveragePool", {x.in(0)}, {x.out()}, a);
}

// y = skip' + gain * branch, skip' = skip or its projection.
void residual(Exporter& x) {
  const std::string branch = x.in(0);
  std::string skip = x.in(1);
  if (x.in_shape(1) != x.in_shape(0)) {
    const std::string w = x.param_init(0);
    if (x.in_shape(1).size() == 2) {
      x.emit("Gemm", {skip, w}, {x.out() + "_skip"}, {{"transB", int_attr(1)}}, "_projection");
    } else {
      x.emit("Conv", {skip, w}, {x.out() + "_skip"}, {{"kernel_shape", ints_attr({1, 1})}}, "_projection");
    }
    skip = x.out() + "_skip";
  }
  std::string scaled = branch;
  if (x.attrs->s("gain") == "learned") {
    const float gain = static_cast<float>(x.attrs->f("gain_init")) + x.param(1).value.as<float>()[0];
    x.emit("Mul", {branch, x.scalar(x.node_name() + ".gain_total", gain)}, {x.out() + "_gained"}, {},
           "_gain");
    scaled = x.out() + "_gained";
  }
  x.emit("Add", {skip, scaled}, {x.out()});
}

void residual_block(Exporter& x) {
  const std::string y = x.out();
  x.emit("Conv", {x.in(0), x.param_init(0), x.param_init(1)}, {y + "_conv1"},
         {{"kernel_shape", ints_attr({1, 1})}}, "_conv1");
  x.emit("Relu", {y + "_conv1"}, {y + "_relu"}, {}, "_relu");
  x.emit("Conv", {y + "_relu", x.param_init(2), x.param_init(3)}, {y + "_conv2"},
         {{"kernel_shape", ints_attr({3, 3})}, {"pads", ints_attr({1, 1, 1, 1})}}, "_conv2");
  x.emit("Add", {x.in(0), y + "_conv2"}, {y});
}

void flatten(Exporter& x) {
  const auto rank = static_cast<std::int64_t>(x.in_shape(0).size());
  std::int64_t axis = x.attrs->i("axis");
  if (axis < 0) axis += rank;
  if (axis == 1) return unary(x, "Flatten", {{"axis", int_attr(1)}});
  // Keel keeps the leading axes: a reshape that copies them (0) and merges
  // the rest (-1).
  std::vector<std::int64_t> shape(std::size_t(axis), 0);
  shape.push_back(-1);
  x.emit("Reshape", {x.in(0), x.ints(x.node_name() + ".shape", shape)}, {x.out()});
}

void reshape(Exporter& x) {
  x.emit("Reshape", {x.in(0), x.ints(x.node_name() + ".shape", x.attrs->ints("shape"))}, {x.out()});
}

const std::map<std::string, Rule>& rules() {
  static const std::map<std::string, Rule> r = {
      {"linear", linear},
      {"matmul",
       [](Exporter& x) {
         x.emit("MatMul", {x.in(0), x.in(1)}, {x.out()});
       }},
      {"conv2d", conv},
      {"conv2d_add", conv_add},
      {"conv_transpose2d", conv_transpose},
      {"batchnorm", batchnorm},
      {"relu", [](Exporter& x) { unary(x, "Relu"); }},
      {"sigmoid", [](Exporter& x) { unary(x, "Sigmoid"); }},
      {"tanh", [](Exporter& x) { unary(x, "Tanh"); }},
      {"leaky_relu",
       [](Exporter& x) {
         unary(x, "LeakyRelu", {{"alpha", float_attr(x.attrs->f("negative_slope"))}});
       }},
      {"softmax",
       [](Exporter& x) {
         unary(x, "Softmax", {{"axis", int_attr(x.attrs->i("axis"))}});
       }},
      {"log_softmax",
       [](Exporter& x) {
         unary(x, "LogSoftmax", {{"axis", int_attr(x.attrs->i("axis"))}});
       }},
      {"add",
       [](Exporter& x) {
         x.emit("Add", {x.in(0), x.in(1)}, {x.out()});
       }},
      {"sub",
       [](Exporter& x) {
         x.emit("Sub", {x.in(0), x.in(1)}, {x.out()});
       }},
      {"mul",
       [](Exporter& x) {
         x.emit("Mul", {x.in(0), x.in(1)}, {x.out()});
       }},
      {"div",
       [](Exporter& x) {
         x.emit("Div", {x.in(0), x.in(1)}, {x.out()});
       }},
      {"scale",
       [](Exporter& x) {
         const float f = static_cast<float>(x.attrs->f("factor"));
         x.emit("Mul", {x.in(0), x.scalar(x.node_name() + ".factor", f)}, {x.out()});
       }},
      {"flatten", flatten},
      {"reshape", reshape},
      {"transpose",
       [](Exporter& x) {
         // [] reverses the axes, as ONNX's Transpose does without perm.
         const auto& perm = x.attrs->ints("perm");
         if (perm.empty()) return unary(x, "Transpose");
         unary(x, "Transpose", {{"perm", ints_attr(perm)}});
       }},
      {"concat",
       [](Exporter& x) {
         x.emit("Concat", {x.in(0), x.in(1)}, {x.out()}, {{"axis", int_attr(x.attrs->i("axis"))}});
       }},
      {"global_avg_pool",
       [](Exporter& x) {
         x.emit("GlobalAveragePool", {x.in(0)}, {x.out() + "_nc11"}, {}, "_pool");
         x.emit("Flatten", {x.out() + "_nc11"}, {x.out()}, {{"axis", int_attr(1)}});
       }},
      {"max_pool2d", [](Exporter& x) { pool(x, true); }},
      {"avg_pool2d", [](Exporter& x) { pool(x, false); }},
      {"dropout", [](Exporter& x) { unary(x, "Identity"); }},
      {"stop_gradient", [](Exporter& x) { unary(x, "Identity"); }},
      {"constant", [](Exporter& x) { x.emit("Identity", {x.param_init(0)}, {x.out()}); }},
      {"residual", residual},
      {"residual_block", residual_block},
  };
  return r;
}

Model Exporter::run() {
  // Every node without an ONNX form, listed at once.
  std::vector<std::string> missing;
  for (const PlannedNode& n : plan_.nodes()) {
    const std::string& op = g_.def.nodes[std::size_t(n.node)].op;
    if (!rules().count(op))
      missing.push_back("'" + g_.def.nodes[std::size_t(n.node)].name + "' (" + op + ")");
  }
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < missing.size() && i < 20; ++i) list += (i ? ", " : "") + missing[i];
    if (missing.size() > 20) list += " and " + std::to_string(missing.size() - 20) + " more";
    throw usage_error(g_.def.file + ": " + std::to_string(missing.size()) + " node" +
                      (missing.size() == 1 ? " has an op" : "s have ops") + " with no ONNX form: " + list +
                      " (export the inference graph: no losses or guards)");
  }
  for (std::size_t i = 0; i < g_.def.inputs.size(); ++i)
    if (g_.input_specs[i].dtype != DType::f32)
      throw usage_error(g_.def.file + ": input '" + g_.def.inputs[i].name +
                        "' is not f32; keel export takes f32 inputs");
  model_.graph_name = g_.def.name;
  model_.producer = "keel";
  model_.opset = kExportOpset;
  for (std::size_t i = 0; i < g_.def.inputs.size(); ++i)
    model_.inputs.push_back(info(g_.def.inputs[i].name, g_.input_specs[i].shape));
  for (const PlannedNode& n : plan_.nodes()) {
    pn = &n;
    attrs = &g_.nodes[std::size_t(n.node)].attrs;
    rules().at(g_.def.nodes[std::size_t(n.node)].op)(*this);
  }
  for (int slot : plan_.output_slots())
    model_.outputs.push_back(info(plan_.value_name(slot), plan_.values()[std::size_t(slot)].shape));
  return std::move(model_);
}

}  // namespace

Model export_plan(const Plan& plan) { return Exporter(plan).run(); }

}  // namespace keel::onnx
