// The shell of an op y = f(x), y of x's shape, run by one oneDNN forward
// primitive and one backward primitive that reads x, or y where the
// gradient is cheaper from the output (tanh, sigmoid, softmax). The eltwise
// activations and softmax differ only in infer() and in the primitives
// their build() makes.
#pragma once

#include "common/dnnl_op.hpp"
#include "common/keel_dnnl.hpp"

namespace keel::nn {

template <class Forward, class Backward>
class UnaryDnnlOp : public dnnl_util::DnnlOp {
 public:
  Status forward(const ForwardContext& ctx) override {
    if (empty_) return Status::Ok();
    return run_src_dst("forward", forward_, x_mem_, ctx.inputs[0].data, y_mem_, ctx.outputs[0].data);
  }

  Status backward(const BackwardContext& ctx) override {
    namespace du = dnnl_util;
    const TensorView& gx = ctx.grad_inputs[0];
    if (empty_ || gx.data == nullptr) return Status::Ok();
    return run("backward", [&](dnnl::stream& s) {
      const int data_arg = use_dst_ ? DNNL_ARG_DST : DNNL_ARG_SRC;
      const void* data = use_dst_ ? ctx.outputs[0].data : ctx.inputs[0].data;
      backward_.execute(s, {{data_arg, du::bind(x_mem_, data)},
                            {DNNL_ARG_DIFF_DST, du::bind(gy_mem_, ctx.grad_outputs[0].data)},
                            {DNNL_ARG_DIFF_SRC, du::bind(gx_mem_, gx.data)}});
    });
  }

 protected:
  UnaryDnnlOp(const char* name, bool use_dst) : DnnlOp(name), use_dst_(use_dst) {}

  // The memory objects every call binds, all of the one layout `md`; build()
  // calls this after making forward_ (and, when training, backward_).
  void make_memory(const dnnl::memory::desc& md, bool training) {
    namespace du = dnnl_util;
    x_mem_ = du::unbound_memory(md);
    y_mem_ = du::unbound_memory(md);
    if (!training) return;
    gy_mem_ = du::unbound_memory(md);
    gx_mem_ = du::unbound_memory(md);
  }

  bool empty_ = false;  // x has no elements: nothing to run
  Forward forward_;
  Backward backward_;

 private:
  bool use_dst_;
  // x_mem_ carries x, or y when use_dst_, in backward.
  dnnl::memory x_mem_, y_mem_, gy_mem_, gx_mem_;
};

}  // namespace keel::nn
