// What the schemas of batchnorm and layernorm declare alike: epsilon, and a
// learned scale gamma and shift beta per normalized unit.
#pragma once

#include <string>
#include <vector>

#include "keel/keel.hpp"

namespace keel::norm {

inline AttrSpec epsilon_attr() {
  return AttrSpec{.name = "epsilon",
                  .type = AttrType::Float,
                  .doc = "added to the variance before its square root; must be > 0",
                  .default_value = AttrValue{1e-5},
                  .min = 0.0};
}

// `unit`: "[C] per-channel" or "[D] per-feature".
inline std::vector<ParamSpec> affine_params(const std::string& unit) {
  return {ParamSpec{.name = "gamma", .doc = unit + " scale", .init = Init::Ones},
          ParamSpec{.name = "beta", .doc = unit + " shift", .init = Init::Zeros}};
}

}  // namespace keel::norm
