#include "report/report.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "report/html_page.hpp"
#include "report/run_folder.hpp"
#include "runtime/atomic_file.hpp"

namespace keel {

namespace fs = std::filesystem;

fs::path find_chart_js() {
  if (const char* env = std::getenv("KEEL_CHART_JS"); env && *env) {
    std::error_code ec;
    if (!fs::is_regular_file(env, ec))
      throw runtime_error(std::string("KEEL_CHART_JS names '") + env + "', which is not a file");
    return env;
  }
  // Debian's libjs-chart.js (3.x names the UMD build chart.min.js; 2.x, Chart.min.js).
  for (const char* candidate :
       {"/usr/share/javascript/chart.js/chart.min.js", "/usr/share/javascript/chart.js/Chart.min.js",
        "/usr/share/javascript/chart.js/chart.js", "/usr/share/javascript/chart.js/Chart.js",
        "/usr/local/share/javascript/chart.js/chart.min.js"}) {
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  throw runtime_error(
      "Chart.js not found in /usr/share/javascript/chart.js/: install the Debian package libjs-chart.js "
      "(scripts/setup does), or set KEEL_CHART_JS to its chart.min.js");
}

std::size_t write_report(const fs::path& dir, const fs::path& out, const ReportOptions& options) {
  const RunFolder run = read_run_folder(dir);
  PageParts parts;
  {
    const fs::path js = find_chart_js();
    std::ifstream in(js, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in || text.str().empty()) throw runtime_error("cannot read Chart.js from '" + js.string() + "'");
    parts.chart_js = text.str();
  }
  const JsonValue* dot = run.facts.find("graph_dot");
  if (!dot || !dot->is_string() || dot->text.empty()) {
    parts.graph_note = "No graph picture: this run's folder does not record its graph (run.json).";
  } else if (!options.render_svg) {
    parts.graph_note = "No graph picture: no renderer was given.";
  } else {
    try {
      parts.graph_svg = options.render_svg(dot->text);
    } catch (const Error& e) {
      parts.graph_note = "No graph picture: " + e.message();
    }
  }
  const std::string html = render_report_html(run, parts);
  write_file_atomically(out, [&](std::ostream& o) { o << html; });
  return html.size();
}

}  // namespace keel
