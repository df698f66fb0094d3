// Request and response bodies of `keel serve` (docs/serve.md): JSON
// ({"inputs": {NAME: nested arrays}} in, {"model", "outputs", "guards"} out)
// and .npy (one input in, one output out). Decoding refuses anything that
// is not exactly what the graph declares, with one line naming the problem.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "graph/validate.hpp"
#include "runtime/tensor.hpp"
#include "serve/batcher.hpp"

namespace keel::serve {

// The graph's inputs, in declaration order, from a JSON body. keel::Error
// (usage) "request body: ..." when the body is not valid JSON, is not
// {"inputs": {...}}, names an unknown input or misses one, or holds an array
// that is ragged, of the wrong element kind, or over `max_values` numbers.
std::vector<Tensor> inputs_from_json(std::string_view body, const ValidatedGraph& graph);

// The graph's one input from a .npy body (keel::Error (usage) when the graph
// has several inputs or the body is not a .npy file).
std::vector<Tensor> inputs_from_npy(std::string_view body, const ValidatedGraph& graph);

// {"model":NAME,"outputs":{NAME:[...],...},"guards":[...]} on one line.
std::string result_json(const std::string& model, const ValidatedGraph& graph, const JobResult& result);

// The guards alone, as a JSON array ("Keel-Guards" header of a .npy answer,
// and the body of a rejected request).
std::string guards_json(const std::vector<GuardFlag>& flags);

// {"error": MESSAGE} on one line (every error answer's body).
std::string error_json(const std::string& message);

}  // namespace keel::serve
