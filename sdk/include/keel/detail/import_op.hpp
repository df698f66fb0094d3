// Host side of the op boundary: a C schema read back into keel::OpSchema,
// and keel::Op calls forwarded to a plugin's C entry.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "keel/abi.h"
#include "keel/detail/c_values.hpp"
#include "keel/op.hpp"
#include "keel/schema.hpp"

namespace keel::detail {

// Receives the one message a failing plugin call reports.
struct ErrorSlot {
  bool threw = false;
  std::string message;
  keel_error sink{this, [](void* ctx, std::int32_t caught, const char* m) {
                    auto* slot = static_cast<ErrorSlot*>(ctx);
                    slot->threw = caught != 0;
                    slot->message = m ? m : "";
                  }};
  ErrorSlot() = default;
  ErrorSlot(const ErrorSlot&) = delete;
  ErrorSlot& operator=(const ErrorSlot&) = delete;

  // A failed call: rethrown when the plugin caught an exception, else a
  // failed Status with the plugin's message.
  Status failure() const {
    if (threw) throw std::runtime_error(message);
    return Status::Error(message);
  }
};

inline PortSpec port_from_c(const keel_port_spec& p) {
  return {c_str_or_empty(p.name), c_str_or_empty(p.doc), p.differentiable != 0};
}

inline AttrSpec attr_spec_from_c(const keel_attr_spec& a) {
  AttrSpec out;
  out.name = c_str_or_empty(a.name);
  out.doc = c_str_or_empty(a.doc);
  out.type = static_cast<AttrType>(a.type);
  if (a.has_default) out.default_value = from_c(a.default_value);
  if (a.has_min) out.min = a.min;
  if (a.has_max) out.max = a.max;
  for (std::size_t i = 0; i < a.n_choices; ++i) out.choices.push_back(c_str_or_empty(a.choices[i]));
  return out;
}

inline OpExample example_from_c(const keel_example& e) {
  OpExample out;
  out.doc = c_str_or_empty(e.doc);
  out.attrs = from_c(e.attrs, e.n_attrs);
  for (std::size_t i = 0; i < e.n_inputs; ++i) {
    const keel_example_input& in = e.inputs[i];
    out.inputs.push_back({from_c(in.spec), in.low, in.high,
                          std::vector<double>(in.values, in.values ? in.values + in.n_values : in.values)});
  }
  for (std::size_t i = 0; i < e.n_files; ++i)
    out.files.push_back(
        {c_str_or_empty(e.files[i].name), std::string(e.files[i].contents ? e.files[i].contents : "",
                                                      e.files[i].contents ? e.files[i].size : 0)});
  out.rejects = c_str_or_empty(e.rejects);
  return out;
}

inline OpSchema schema_from_c(const keel_op_schema* s) {
  OpSchema out;
  if (!s) return out;
  out.name = c_str_or_empty(s->name);
  out.doc = c_str_or_empty(s->doc);
  for (std::size_t i = 0; i < s->n_inputs; ++i) out.inputs.push_back(port_from_c(s->inputs[i]));
  for (std::size_t i = 0; i < s->n_outputs; ++i) out.outputs.push_back(port_from_c(s->outputs[i]));
  for (std::size_t i = 0; i < s->n_attrs; ++i) out.attrs.push_back(attr_spec_from_c(s->attrs[i]));
  for (std::size_t i = 0; i < s->n_params; ++i) {
    const keel_param_spec& p = s->params[i];
    out.params.push_back({c_str_or_empty(p.name), c_str_or_empty(p.doc), static_cast<Init>(p.init),
                          p.trainable != 0, static_cast<Statistic>(p.statistic)});
  }
  for (std::size_t i = 0; i < s->n_examples; ++i) out.examples.push_back(example_from_c(s->examples[i]));
  out.has_backward = s->has_backward != 0;
  out.deterministic = s->deterministic != 0;
  out.inplace = s->inplace != 0;
  out.role = static_cast<Role>(s->role);
  out.metric = static_cast<Metric>(s->metric);
  out.batch_statistics = s->batch_statistics != 0;
  return out;
}

// A keel::Op whose calls go through a plugin's C entry.
class ImportedOp final : public Op {
 public:
  ImportedOp(const keel_op_entry& entry, void* handle) : entry_(entry), handle_(handle) {}
  ImportedOp(const ImportedOp&) = delete;
  ImportedOp& operator=(const ImportedOp&) = delete;
  ~ImportedOp() override { entry_.destroy(handle_); }

  Status infer(InferContext& ctx) const override {
    const std::vector<keel_spec> inputs = to_c(ctx.inputs);
    ctx.outputs.clear();
    ctx.param_shapes.clear();
    keel_infer_args args{as_c(inputs), &ctx,
                         [](void* c, std::int32_t dtype, std::int32_t rank, const std::int64_t* shape) {
                           static_cast<InferContext*>(c)->outputs.push_back(
                               {static_cast<DType>(dtype), shape_from_c(rank, shape)});
                         },
                         [](void* c, std::int32_t rank, const std::int64_t* shape) {
                           static_cast<InferContext*>(c)->param_shapes.push_back(shape_from_c(rank, shape));
                         }};
    ErrorSlot error;
    return entry_.infer(handle_, &args, &error.sink) == 0 ? Status::Ok() : error.failure();
  }

  Status prepare(const PrepareContext& ctx) override {
    const std::vector<keel_spec> in = to_c(ctx.inputs), out = to_c(ctx.outputs), par = to_c(ctx.params);
    const keel_prepare_args args{as_c(in), as_c(out), as_c(par), ctx.training ? 1 : 0};
    ErrorSlot error;
    return entry_.prepare(handle_, &args, &error.sink) == 0 ? Status::Ok() : error.failure();
  }

  Status forward(const ForwardContext& ctx) override {
    const Tensors<ConstTensorView> in(ctx.inputs);
    const Tensors<TensorView> out(ctx.outputs), par(ctx.params);
    const keel_forward_args args{in.c(), out.c(), par.c(), ctx.training ? 1 : 0, ctx.seed, ctx.step};
    ErrorSlot error;
    return entry_.forward(handle_, &args, &error.sink) == 0 ? Status::Ok() : error.failure();
  }

  // An op of a plugin whose entries predate the field runs as on one process.
  Status set_collective(const keel_collective* c) override {
    if (!entry_.set_collective) return Status::Ok();
    ErrorSlot error;
    return entry_.set_collective(handle_, c, &error.sink) == 0 ? Status::Ok() : error.failure();
  }

  Status backward(const BackwardContext& ctx) override {
    const Tensors<ConstTensorView> in(ctx.inputs), out(ctx.outputs), par(ctx.params), gout(ctx.grad_outputs);
    const Tensors<TensorView> gin(ctx.grad_inputs), gpar(ctx.grad_params);
    const keel_backward_args args{in.c(), out.c(), par.c(), gout.c(), gin.c(), gpar.c(), ctx.seed, ctx.step};
    ErrorSlot error;
    return entry_.backward(handle_, &args, &error.sink) == 0 ? Status::Ok() : error.failure();
  }

 private:
  template <class View>
  struct Tensors : ViewArray<View, keel_tensor> {
    explicit Tensors(std::span<const View> views)
        : ViewArray<View, keel_tensor>(views.data(), views.size(),
                                       [](const View& v) { return to_c_tensor(v); }) {}
    keel_tensors c() const { return {this->data(), this->size()}; }
  };

  keel_op_entry entry_;
  void* handle_;
};

// Makes ops of one C entry. Attributes are passed complete (the host
// filled in defaults). What the factory threw is thrown again; a factory
// that made nothing gives a null op, as a C++ factory returning null would.
inline OpMaker op_maker(const keel_op_entry& entry) {
  return [entry](const Attrs& attrs) -> std::unique_ptr<Op> {
    const std::vector<keel_attr> c = to_c(attrs.values());
    ErrorSlot error;
    void* handle = entry.create(entry.context, c.data(), c.size(), &error.sink);
    if (!handle && error.threw) throw std::runtime_error(error.message);
    if (!handle) return nullptr;
    return std::make_unique<ImportedOp>(entry, handle);
  };
}

}  // namespace keel::detail
