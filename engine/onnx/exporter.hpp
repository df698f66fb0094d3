// keel export: a validated Keel graph with its parameters as an ONNX model
// (opset 13), for the ops that have an ONNX form (docs/onnx.md, "Export").
// The result is the neutral Model of onnx_model.hpp; serialize_model writes
// the bytes.
#pragma once

#include <string>

#include "onnx/onnx_model.hpp"
#include "planner/plan.hpp"

namespace keel::onnx {

inline constexpr std::int64_t kExportOpset = 13;

// The plan must have its parameters loaded. Throws keel::Error (usage)
// listing every node whose op has no ONNX form, at once.
Model export_plan(const Plan& plan);

}  // namespace keel::onnx
