// The fixed parts of a run report page: its styles, the sections the charts
// go in, and its two scripts. The page's script builds every chart from the
// JSON in <script id="run-data"> with Chart.js, then checks what it drew
// and writes the outcome into <body>'s data attributes, for a headless
// browser to read back (tests/report):
//   data-charts-expected  charts the data called for
//   data-charts-rendered  charts with data points and drawn (non-blank) pixels
//   data-errors           every script error and console.error, joined by " | "
// and, on each chart's canvas, data-points and data-drawn-pixels.
#pragma once

namespace keel {

extern const char* const kReportCss;
extern const char* const kReportBody;
// Installed first: collects errors from window.onerror, unhandled
// rejections and console.error into data-errors.
extern const char* const kErrorCollectorJs;
extern const char* const kReportJs;

}  // namespace keel
