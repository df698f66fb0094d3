// keel report DIR [-o FILE]: a training run's output folder as one HTML
// file (engine/report), and the same at the end of a training run.
#include <cstdio>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/graphviz.hpp"
#include "report/report.hpp"
#include "runtime/atomic_file.hpp"

namespace keel::cli {

namespace fs = std::filesystem;

namespace {

ReportOptions report_options() {
  ReportOptions options;
  options.render_svg = [](const std::string& dot) { return render_with_graphviz(dot, "svg"); };
  return options;
}

}  // namespace

int report(const fs::path& dir, const fs::path& output, const Common& common) {
  const fs::path out = output.empty() ? dir / "report.html" : output;
  check_output_target(out);
  const std::size_t bytes = write_report(dir, out, report_options());
  if (!common.quiet) std::printf("wrote %s (%.0f KiB)\n", out.c_str(), double(bytes) / 1024);
  return 0;
}

void report_after_training(const fs::path& dir, const Common& common) {
  try {
    const fs::path out = dir / "report.html";
    write_report(dir, out, report_options());
    if (!common.quiet) std::printf("report: %s\n", out.c_str());
  } catch (const Error& e) {
    // The training itself succeeded: a missing Chart.js must not fail it.
    std::fprintf(stderr, "keel: warning: no report written: %s\n", e.format().c_str());
  }
}

}  // namespace keel::cli
