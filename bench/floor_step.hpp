// One training step of bench/graphs/large_train.yaml chained by hand from
// oneDNN primitives created once: the floor bench_floor.cpp measures Keel's
// step against. The model: h_k = h_{k-1} + relu(bn_k(fc_k(h_{k-1}))) for
// k = 1..blocks (h_0 = x), logits = head(h_blocks), mean softmax
// cross-entropy, then SGD with momentum and weight decay after clipping the
// global gradient norm, as torch.optim.SGD and clip_grad_norm_ do.
//
// The primitives are oneDNN's own on the plugins' layouts: per product one
// matmul with Wᵀ a strided view, backward as two matmuls and a ones-row
// matmul for the bias (as raw_ops.hpp's Linear); batch norm on [N, C] as an
// [N, C, 1, 1] nhwc view, no copy; eltwise relu. Where the plugins now run
// other kernels so that results do not depend on the thread count (linear's
// row blocks, batch norm's fixed-order sums: docs/performance.md), the
// floor still runs oneDNN's, so the difference shows what those cost. What
// a hand-written step can skip that a general engine does not, the floor
// skips:
//  - no per-step allocation, shape binding or dispatch; the batch's rows are
//    copied into one buffer made once;
//  - relu runs in place and differentiates from its output (use_dst);
//  - the residual add is one binary primitive, and its backward copies
//    nothing: both of its inputs' gradients are its output's buffer, into
//    which each block's linear grad_x accumulates through a sum post-op;
//  - the loss's forward and backward are one loop;
//  - parameters, gradients and momentum each live in one buffer, so the
//    gradient norm (partial sums in double, vectorized) and the update are
//    one loop each, split between the OpenMP threads (Keel's sgd op splits
//    its loop too; the engine's gradient norm runs on one thread).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "raw_ops.hpp"

namespace keel::bench::raw {

struct FloorConfig {
  std::int64_t batch = 256, width = 512, classes = 10, blocks = 4;
  float lr = 0.05f, momentum = 0.9f, weight_decay = 1e-4f, clip_grad_norm = 5.0f;
  float bn_momentum = 0.1f, bn_epsilon = 1e-5f;  // the batchnorm op's defaults
};

// Seconds spent per part of the step. The loss's forward and backward are
// one loop; the residual's backward does no work.
struct FloorTimes {
  enum Part {
    gather,
    linear_forward,
    linear_backward,
    batchnorm_forward,
    batchnorm_backward,
    relu_forward,
    relu_backward,
    residual_forward,
    loss,
    grad_norm,
    update,
    parts
  };
  double s[parts] = {};
};

// A parameter or running statistic inside the floor's buffers, named as
// Keel's plan names it (node.param), so the floor can start from Keel's
// values and be compared with Keel after a step.
struct FloorTensor {
  std::string name;
  float* data;
  std::int64_t size;
};

class FloorStep {
 public:
  // `x` [rows, width] and `labels` [rows] are the data set the batches'
  // rows index into; they must outlive the floor.
  FloorStep(const FloorConfig& config, const float* x, const std::int64_t* labels);

  std::vector<FloorTensor> tensors();

  // The next update is the first: momentum starts as the gradient.
  void restart();

  // One step on the data rows `rows` (config.batch of them); returns the
  // loss. With `times`, adds each part's seconds to it.
  double step(const std::size_t* rows, FloorTimes* times = nullptr);

  // The gradient norm of the last step, before clipping.
  double grad_norm() const { return grad_norm_; }

 private:
  struct FreeDeleter {
    void operator()(float* p) const { std::free(p); }
  };
  using Buffer = std::unique_ptr<float[], FreeDeleter>;
  static Buffer buffer(std::int64_t n);  // 64-byte aligned, zeroed, as the engine's tensors are

  struct BlockArgs {
    Args linear_fwd, bn_fwd, relu_fwd, add, relu_bwd, bn_bwd, gw, gb, gx_sum;
  };
  struct HeadArgs {
    Args fwd, gw, gb, gx;
  };

  void build_primitives();
  void update_running_statistics(std::size_t block);
  double loss_forward_backward();

  FloorConfig c_;
  const float* data_x_;
  const std::int64_t* data_labels_;
  std::int64_t block_size_ = 0, params_size_ = 0;
  std::uint64_t updates_ = 0;
  double grad_norm_ = 0;
  // Flat parameters: per block W [d, d], b [d], gamma [d], beta [d]; then
  // the head's W [classes, d], b [classes]. Gradients and momentum share
  // the layout.
  Buffer params_, grads_, momentum_;
  Buffer x_, logits_, grad_logits_, grad_h_, grad_u_, ones_;
  std::vector<Buffer> z_, u_, h_, mean_, var_, running_mean_, running_var_;  // per block
  std::vector<std::int64_t> labels_;
  std::vector<double> exps_;
  std::vector<double> chunk_sums_;  // the gradient norm's partial sums
  dnnl::matmul linear_fwd_, linear_gw_, linear_gb_, linear_gx_sum_, head_fwd_, head_gw_, head_gb_, head_gx_;
  dnnl::batch_normalization_forward bn_fwd_;
  dnnl::batch_normalization_backward bn_bwd_;
  dnnl::eltwise_forward relu_fwd_;
  dnnl::eltwise_backward relu_bwd_;
  dnnl::binary add_;
  std::vector<BlockArgs> block_;
  HeadArgs head_;
};

}  // namespace keel::bench::raw
