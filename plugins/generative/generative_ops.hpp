// The generative plugin's ops, its one registration list
// (common/op_list.hpp), in the order `keel plugins generative` lists them.
#pragma once

#include "common/op_list.hpp"

#define KEEL_GENERATIVE_OPS(X) X(gaussian_sample) X(kl_normal) X(noise_like) X(noise)

namespace keel::generative {
KEEL_GENERATIVE_OPS(KEEL_DECLARE_OP)
}  // namespace keel::generative
