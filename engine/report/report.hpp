// The run report: one self-contained HTML file made from a training run's
// output folder (report/run_folder.hpp), with charts drawn by Chart.js,
// which is read from the installed Debian package libjs-chart.js and
// inlined, so the file opens in any browser, offline, with no server.
// `keel report DIR` makes it, and training makes DIR/report.html at the
// end of a run unless the graph says `report: false` (docs/report.md).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace keel {

struct ReportOptions {
  // DOT text to SVG (cli/graphviz.hpp); it throws keel::Error when it
  // cannot, and the report shows that message instead of the picture.
  // Unset: no picture, and the report says so.
  std::function<std::string(const std::string& dot)> render_svg;
};

// Chart.js's browser build: $KEEL_CHART_JS when set, else the first of
// libjs-chart.js's files that exists. keel::Error (runtime) naming the
// package when there is none.
std::filesystem::path find_chart_js();

// Reads the run folder `dir` and writes the report to `out` (atomically).
// keel::Error (usage) for a folder that is not a run's or a malformed line
// in its files (FILE:LINE), before anything is written; runtime when
// Chart.js is missing or `out` cannot be written. Returns the report's size
// in bytes.
std::size_t write_report(const std::filesystem::path& dir, const std::filesystem::path& out,
                         const ReportOptions& options);

}  // namespace keel
