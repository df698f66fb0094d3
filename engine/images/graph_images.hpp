// The graph's `images:` entries (graph/graph_def.hpp) as the PNG writer's
// settings, for `keel run` and for the training loop's sample grids
// (write_epoch_samples), so both draw an output the same way.
#pragma once

#include <algorithm>
#include <cstddef>

#include "graph/graph_def.hpp"
#include "images/png_grid.hpp"

namespace keel {

inline ImageGrid image_grid(const ImageDef& d) {
  return {.height = d.height,
          .width = d.width,
          .low = d.low,
          .high = d.high,
          .scale = d.scale,
          .columns = d.columns};
}

// The position in `def.outputs` of the output `d` draws (the parser has
// checked that there is one).
inline std::size_t image_output_index(const GraphDef& def, const ImageDef& d) {
  const auto it = std::find_if(def.outputs.begin(), def.outputs.end(),
                               [&](const ValueRef& r) { return r.text() == d.output; });
  return static_cast<std::size_t>(it - def.outputs.begin());
}

}  // namespace keel
