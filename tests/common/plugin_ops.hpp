// The op under test as the runner gets it: from the plugin's own C table
// (keel_get_plugin_table, linked into the test with the plugin's entry file),
// read back by keel::testing::ops_of, so every call crosses the C boundary.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "keel/testing.hpp"

extern "C" const keel_plugin_table* keel_get_plugin_table();

namespace optest {

// The registered op named `name`; the table is read once per test binary.
inline const keel::testing::RegisteredOp& registered_op(std::string_view name) {
  static const std::vector<keel::testing::RegisteredOp> ops = keel::testing::ops_of(*keel_get_plugin_table());
  for (const auto& op : ops)
    if (op.schema.name == name) return op;
  throw std::invalid_argument("the plugin registers no op '" + std::string(name) + "'");
}

inline const keel::OpMaker& op_maker(std::string_view name) { return registered_op(name).factory; }
inline const keel::OpSchema& op_schema(std::string_view name) { return registered_op(name).schema; }

}  // namespace optest
