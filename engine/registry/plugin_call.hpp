// Calls into plugin code (infer, prepare, forward, backward, update) and
// turns both a failed Status and any exception into one Status, so nothing
// thrown inside a plugin escapes unconverted. Callers add the node, op and
// plugin names when they report it.
#pragma once

#include <exception>
#include <string>

#include "keel/status.hpp"

namespace keel {

// The returned message is final: "<what> threw: <e.what()>" for an
// exception, "<failed><message>" for a failed Status (`failed` is a prefix
// such as "forward failed: ", or "" to pass the op's message through).
template <class Call>
Status call_plugin(const std::string& what, const std::string& failed, Call&& call) {
  const std::string threw = what.empty() ? "threw" : what + " threw";
  Status st;
  try {
    st = call();
  } catch (const std::exception& e) {
    return Status::Error(threw + ": " + e.what());
  } catch (...) {
    return Status::Error(threw + " an unknown exception");
  }
  if (st.ok()) return st;
  // A failure without a reason still has to say what failed.
  if (st.message().empty())
    return Status::Error((failed.empty() && !what.empty() ? what + " failed: " : failed) +
                         "(the plugin gave no reason)");
  return Status::Error(failed + st.message());
}

}  // namespace keel
