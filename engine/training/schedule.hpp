// Learning-rate schedules, as a pure function of the step so a resumed run
// continues with exactly the rate it would have had.
#pragma once

#include <cstdint>

#include "graph/train_def.hpp"

namespace keel {

// lr at `step` (0-based) of `total` steps: the base rate times a linear
// warm-up factor min(1, (step + 1) / warmup), times the decay:
//   constant: 1
//   step:     gamma ^ floor(step / every)
//   cosine:   min_lr/lr + (1 - min_lr/lr) * (1 + cos(pi * step / total)) / 2
double learning_rate(const ScheduleDef& schedule, double base, std::int64_t step, std::int64_t total);

}  // namespace keel
