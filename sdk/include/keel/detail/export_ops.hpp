// The plugin's side of the op boundary: a registered (schema, factory) pair
// becomes a keel_op_entry whose C functions call the plugin's keel::Op.
// Compiled into each plugin (hidden visibility), so the C++ objects here
// never leave it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keel/abi.h"
#include "keel/detail/c_values.hpp"
#include "keel/op.hpp"
#include "keel/schema.hpp"

namespace keel::detail {

// One op's schema in C form, pointing into `schema`, which it owns: every
// pointer stays valid while the plugin is loaded.
class ExportedSchema {
 public:
  explicit ExportedSchema(OpSchema s) : schema_(std::move(s)) {
    for (const PortSpec& p : schema_.inputs) inputs_.push_back(port(p));
    for (const PortSpec& p : schema_.outputs) outputs_.push_back(port(p));
    choices_.reserve(schema_.attrs.size());
    for (const AttrSpec& a : schema_.attrs) attrs_.push_back(attr(a));
    for (const ParamSpec& p : schema_.params)
      params_.push_back({p.name.c_str(), p.doc.c_str(), static_cast<std::int32_t>(p.init),
                         p.trainable ? 1 : 0, static_cast<std::int32_t>(p.statistic)});
    example_attrs_.reserve(schema_.examples.size());
    example_inputs_.reserve(schema_.examples.size());
    example_files_.reserve(schema_.examples.size());
    for (const OpExample& e : schema_.examples) examples_.push_back(example(e));
    c_ = {schema_.name.c_str(),
          schema_.doc.c_str(),
          inputs_.data(),
          inputs_.size(),
          outputs_.data(),
          outputs_.size(),
          attrs_.data(),
          attrs_.size(),
          params_.data(),
          params_.size(),
          examples_.data(),
          examples_.size(),
          schema_.has_backward ? 1 : 0,
          schema_.deterministic ? 1 : 0,
          schema_.inplace ? 1 : 0,
          static_cast<std::int32_t>(schema_.role),
          static_cast<std::int32_t>(schema_.metric),
          schema_.batch_statistics ? 1 : 0};
  }
  ExportedSchema(const ExportedSchema&) = delete;
  ExportedSchema& operator=(const ExportedSchema&) = delete;

  const keel_op_schema* c() const { return &c_; }

 private:
  static keel_port_spec port(const PortSpec& p) {
    return {p.name.c_str(), p.doc.c_str(), p.differentiable ? 1 : 0};
  }

  keel_attr_spec attr(const AttrSpec& a) {
    std::vector<const char*>& choices = choices_.emplace_back();
    for (const std::string& c : a.choices) choices.push_back(c.c_str());
    keel_attr_spec out{};
    out.name = a.name.c_str();
    out.doc = a.doc.c_str();
    out.type = static_cast<std::int32_t>(a.type);
    out.has_default = a.default_value.has_value() ? 1 : 0;
    if (a.default_value) out.default_value = to_c(a.name.c_str(), *a.default_value);
    out.has_min = a.min.has_value() ? 1 : 0;
    out.has_max = a.max.has_value() ? 1 : 0;
    out.min = a.min.value_or(0.0);
    out.max = a.max.value_or(0.0);
    out.choices = choices.data();
    out.n_choices = choices.size();
    return out;
  }

  keel_example example(const OpExample& e) {
    std::vector<keel_attr>& attrs = example_attrs_.emplace_back(to_c(e.attrs));
    std::vector<keel_example_input>& inputs = example_inputs_.emplace_back();
    for (const ExampleInput& in : e.inputs)
      inputs.push_back({to_c(in.spec), in.low, in.high, in.values.data(), in.values.size()});
    std::vector<keel_example_file>& files = example_files_.emplace_back();
    for (const ExampleFile& f : e.files)
      files.push_back({f.name.c_str(), f.contents.data(), f.contents.size()});
    return {e.doc.c_str(), attrs.data(), attrs.size(), inputs.data(),
            inputs.size(), files.data(), files.size(), e.rejects.c_str()};
  }

  OpSchema schema_;
  std::vector<keel_port_spec> inputs_, outputs_;
  std::vector<std::vector<const char*>> choices_;  // reserved: inner arrays never move
  std::vector<keel_attr_spec> attrs_;
  std::vector<keel_param_spec> params_;
  std::vector<std::vector<keel_attr>> example_attrs_;
  std::vector<std::vector<keel_example_input>> example_inputs_;
  std::vector<std::vector<keel_example_file>> example_files_;
  std::vector<keel_example> examples_;
  keel_op_schema c_{};
};

// The C functions of every op entry; `context` is the op's OpFactory.
struct OpTrampolines {
  // A C tensor array as the SDK's views, without allocating for a few ports.
  template <class View>
  struct Views : ViewArray<keel_tensor, View> {
    explicit Views(const keel_tensors& t)
        : ViewArray<keel_tensor, View>(t.data, t.count, view_from_c<View>) {}
  };

  static Op& op(void* p) { return *static_cast<Op*>(p); }
  static const Op& op(const void* p) { return *static_cast<const Op*>(p); }

  static void* create(void* context, const keel_attr* attrs, std::size_t n, keel_error* error) noexcept {
    void* made = nullptr;
    guarded_call(error, [&] {
      const auto factory = reinterpret_cast<OpFactory>(context);
      std::unique_ptr<Op> op = factory(Attrs(from_c(attrs, n)));
      if (!op) return Status::Error("the op factory returned nothing");
      made = op.release();
      return Status::Ok();
    });
    return made;
  }

  static void destroy(void* p) noexcept { delete static_cast<Op*>(p); }

  static int infer(const void* p, const keel_infer_args* a, keel_error* error) noexcept {
    return guarded_call(error, [&] {
      const std::vector<TensorSpec> inputs = from_c(a->inputs);
      InferContext ctx;
      ctx.inputs = inputs;
      KEEL_RETURN_IF_ERROR(op(p).infer(ctx));
      for (const TensorSpec& t : ctx.outputs)
        a->add_output(a->ctx, static_cast<std::int32_t>(t.dtype), static_cast<std::int32_t>(t.shape.size()),
                      t.shape.data());
      for (const Shape& s : ctx.param_shapes)
        a->add_param_shape(a->ctx, static_cast<std::int32_t>(s.size()), s.data());
      return Status::Ok();
    });
  }

  static int prepare(void* p, const keel_prepare_args* a, keel_error* error) noexcept {
    return guarded_call(error, [&] {
      const std::vector<TensorSpec> inputs = from_c(a->inputs), outputs = from_c(a->outputs),
                                    params = from_c(a->params);
      return op(p).prepare({inputs, outputs, params, a->training != 0});
    });
  }

  static int forward(void* p, const keel_forward_args* a, keel_error* error) noexcept {
    return guarded_call(error, [&] {
      const Views<ConstTensorView> in(a->inputs);
      const Views<TensorView> out(a->outputs), par(a->params);
      return op(p).forward(
          {in.span(), out.span(), par.span(), a->training != 0, a->seed, a->step, op(p).collective()});
    });
  }

  static int backward(void* p, const keel_backward_args* a, keel_error* error) noexcept {
    return guarded_call(error, [&] {
      const Views<ConstTensorView> in(a->inputs), out(a->outputs), par(a->params), gout(a->grad_outputs);
      const Views<TensorView> gin(a->grad_inputs), gpar(a->grad_params);
      return op(p).backward({in.span(), out.span(), par.span(), gout.span(), gin.span(), gpar.span(), a->seed,
                             a->step, op(p).collective()});
    });
  }

  static int set_collective(void* p, const keel_collective* c, keel_error* error) noexcept {
    return guarded_call(error, [&] { return op(p).set_collective(c); });
  }

  static keel_op_entry entry(const ExportedSchema& schema, OpFactory factory) {
    // No factory: no create function, which the loader refuses by name.
    return {schema.c(),
            reinterpret_cast<void*>(factory),
            factory ? create : nullptr,
            destroy,
            infer,
            prepare,
            forward,
            backward,
            set_collective};
  }
};

}  // namespace keel::detail
