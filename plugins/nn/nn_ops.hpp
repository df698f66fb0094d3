// The nn plugin's ops, its one registration list (common/op_list.hpp), in
// the order `keel plugins nn` lists them.
#pragma once

#include "common/op_list.hpp"

// clang-format does not settle on one layout for this list.
// clang-format off
#define KEEL_NN_OPS(X)                                                                       \
  X(add) X(sub) X(mul) X(div) X(scale) X(relu) X(matmul) X(linear) X(leaky_relu)             \
  X(gelu) X(tanh) X(sigmoid) X(softmax) X(log_softmax) X(flatten) X(reshape)                 \
  X(transpose) X(mse) X(softmax_cross_entropy) X(dropout) X(standardize) X(conv2d)           \
  X(conv2d_add) X(global_avg_pool) X(max_pool2d) X(avg_pool2d) X(conv_transpose2d)           \
  X(upsample) X(bce_with_logits) X(concat) X(split) X(stop_gradient) X(full_like)            \
  X(constant)
// clang-format on

namespace keel::nn {
KEEL_NN_OPS(KEEL_DECLARE_OP)
}  // namespace keel::nn
