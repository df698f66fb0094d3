// The run report as one HTML file: the run's data as JSON in the page,
// the page's own script and styles (report/page_assets.cpp), Chart.js
// inlined, the graph picture as inline SVG and sample grids as data URLs.
// Nothing in it refers to another file or the network.
#pragma once

#include <string>

#include "report/run_folder.hpp"

namespace keel {

struct PageParts {
  std::string chart_js;   // Chart.js's UMD build, inlined as is
  std::string graph_svg;  // `keel graph` as SVG; empty: graph_note says why
  std::string graph_note;
};

// Per-step series are cut to at most this many points each (downsample.hpp).
constexpr std::size_t kMaxStepPoints = 1500;

// The data the page draws, as one JSON object: facts, epochs, steps
// (downsampled), events, node times, samples' epochs, notes. What a test
// reads back from the page's <script id="run-data"> to compare with the run
// folder's files.
std::string report_data_json(const RunFolder& run);

std::string render_report_html(const RunFolder& run, const PageParts& parts);

// `text` safe inside a <script> element: every "</" becomes "<\/", which
// JSON and JavaScript strings read as the same characters.
std::string script_safe(std::string text);

}  // namespace keel
