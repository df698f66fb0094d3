// Attribute literals (as written in a graph file or a train: section) typed
// against an op's schema: defaults filled in, ranges and choices checked.
#pragma once

#include <map>
#include <string>

#include "base/error.hpp"
#include "graph/graph_def.hpp"
#include "keel/schema.hpp"

namespace keel {

// Throws keel::Error (usage) at the literal's position in `file` for an
// unknown attribute (with a did-you-mean), a value of the wrong type, out of
// range or not among the choices; at `where` for a missing required one.
Attrs typed_attrs(const OpSchema& schema, const std::map<std::string, AttrLiteral>& literals,
                  const std::string& file, const ErrorSubject& subject, Loc where = {});

}  // namespace keel
