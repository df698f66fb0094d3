// Renders DOT text to SVG or PNG with Graphviz's `dot` program, found on
// PATH. Graphviz is optional: without it only --format dot works.
#pragma once

#include <string>

namespace keel::cli {

// `format` is "svg" or "png". Throws keel::Error: usage (exit 2) when `dot`
// is not installed, runtime (exit 1) when it fails.
std::string render_with_graphviz(const std::string& dot_text, const std::string& format);

}  // namespace keel::cli
