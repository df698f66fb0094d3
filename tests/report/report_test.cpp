// The run report end to end: real training runs (the demo's flagship with a
// sealed checkpoint and a profile; the fault-injection linear regression
// with guards firing), their report read back by an independent Python
// check (check_report.py: the page's data against metrics.jsonl, steps.csv,
// anomalies.jsonl and run.json, nothing external, the size), and each
// rendered once in headless Chromium, which must report no script error and
// every chart drawn; its screenshot is kept under
// BUILD/test-artifacts/report/. Where Chromium cannot run, the browser part
// is skipped with a warning ("browser check skipped").
#include <catch2/catch.hpp>
#include <fstream>

#include "cli_util.hpp"
#include "report/downsample.hpp"

using namespace keel::test;
namespace fs = std::filesystem;

namespace {

const std::string kSource = KEEL_SOURCE_DIR;
const std::string kCheck = kSource + "/tests/report/check_report.py";
const std::string kLinreg = kSource + "/tests/anomaly/graphs/poisoned_linreg.yaml";

std::size_t lines_in(const fs::path& p) {
  std::size_t n = 0;
  for (char c : slurp(p)) n += c == '\n';
  return n;
}

ProcessResult check_report(const std::vector<std::string>& args) { return run_python(kCheck, args); }

// Trains the fault-injection linear regression into `out` with the poison
// plugin and `extra` arguments (mostly --set); the run must succeed.
void train_linreg(const fs::path& out, const std::vector<std::string>& extra) {
  std::vector<std::string> args{
      "run", kLinreg, "-q", "-o", out.string(), "--plugin-path", KEEL_POISON_PLUGIN_DIR};
  args.insert(args.end(), extra.begin(), extra.end());
  const ProcessResult r = run_keel(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

std::string chromium() {
  for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(c)) return c;
  return "";
}

// One headless Chromium launch: the page's DOM after its scripts ran, and a
// screenshot kept as the test's artifact. False (with a warning) when no
// Chromium can run here.
bool open_in_browser(const fs::path& report, const fs::path& work, const std::string& name) {
  const std::string browser = chromium();
  if (browser.empty()) {
    WARN(
        "browser check skipped: Chromium is not installed (Debian package chromium; scripts/setup installs "
        "it)");
    return false;
  }
  const fs::path artifacts = fs::path(KEEL_BUILD_DIR) / "test-artifacts" / "report";
  fs::create_directories(artifacts);
  const fs::path shot = artifacts / (name + ".png");
  fs::remove(shot);
  const ProcessResult r =
      run_process({browser, "--headless", "--disable-gpu", "--no-sandbox",
                   "--user-data-dir=" + (work / "chromium").string(), "--enable-logging=stderr", "--v=0",
                   "--virtual-time-budget=5000", "--window-size=1200,2400", "--hide-scrollbars",
                   "--screenshot=" + shot.string(), "--dump-dom", "file://" + fs::absolute(report).string()},
                  {}, 90);
  if (r.exit_code != 0 && r.out.find("<body") == std::string::npos) {
    WARN("browser check skipped: Chromium could not run here (exit " << r.exit_code
                                                                     << "): " << r.err.substr(0, 400));
    return false;
  }
  std::ofstream(work / (name + ".dom.html")) << r.out;
  std::ofstream(work / (name + ".stderr.txt")) << r.err;
  CHECK(fs::exists(shot));
  return true;
}

void check_rendered(const fs::path& work, const std::string& name, std::size_t events) {
  const ProcessResult dom = check_report({"dom", (work / (name + ".dom.html")).string(),
                                          (work / (name + ".stderr.txt")).string(), std::to_string(events)});
  INFO(dom.out << dom.err);
  CHECK(dom.exit_code == 0);
}

}  // namespace

TEST_CASE("the report of the demo's flagship run (sealed checkpoint, profile) holds its data and renders") {
  TempDir dir;
  const fs::path out = dir / "digits";
  REQUIRE(run_keel({"keygen", (dir / "demo.key").string()}).exit_code == 0);
  // scripts/demo-run's training, shortened to 6 epochs, with a profile.
  const ProcessResult r =
      run_keel({"run", kSource + "/graphs/digits_train.yaml", "-o", out.string(), "--threads", "1", "--set",
                "train.checkpoint.key_file=" + (dir / "demo.key").string(), "--set", "train.epochs=6",
                "--profile", (dir / "trace.json").string()});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("report: " + (out / "report.html").string()) != std::string::npos);
  REQUIRE(fs::exists(out / "report.html"));
  CHECK(lines_in(out / "steps.csv") == 1 + 6 * 23);  // header, then 23 batches per epoch

  const ProcessResult data = check_report({"data", (out / "report.html").string(), out.string()});
  INFO(data.out << data.err);
  REQUIRE(data.exit_code == 0);
  CHECK(data.out.find("\"sealed\": true") != std::string::npos);
  CHECK(data.out.find("\"status\": \"completed\"") != std::string::npos);
  CHECK(data.out.find("\"node_times\": 0") == std::string::npos);  // time per node from the trace
  CHECK(data.out.find("\"has_svg\": true") != std::string::npos);  // Graphviz is installed by scripts/setup

  // `keel report` remakes it from the folder alone, elsewhere.
  const ProcessResult again = run_keel({"report", out.string(), "-o", (dir / "again.html").string()});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(check_report({"data", (dir / "again.html").string(), out.string()}).exit_code == 0);

  if (open_in_browser(out / "report.html", dir.path(), "flagship")) check_rendered(dir.path(), "flagship", 0);
}

TEST_CASE("the report of a guarded run with injected faults shows every guard event") {
  TempDir dir;
  const fs::path out = dir / "guarded";
  // Poison on steps 7 and 17 of 20: the range guard reports the rows, the
  // loss guard skips the steps.
  train_linreg(out, {"--set", "poisoned.every=10", "--set", "guard.action=skip_step"});
  REQUIRE(fs::exists(out / "report.html"));
  const std::size_t events = lines_in(out / "anomalies.jsonl");
  REQUIRE(events == 4);
  const ProcessResult data = check_report({"data", (out / "report.html").string(), out.string()});
  INFO(data.out << data.err);
  REQUIRE(data.exit_code == 0);
  if (open_in_browser(out / "report.html", dir.path(), "guarded"))
    check_rendered(dir.path(), "guarded", events);
}

TEST_CASE("a 10,000-step run's report stays under 2 MB, its per-step series downsampled") {
  TempDir dir;
  const fs::path out = dir / "long";
  train_linreg(out, {"--threads", "1", "--set", "train.data.batch=8", "--set", "train.steps=10000", "--set",
                     "poisoned.every=97", "--set", "guard.action=skip_step"});
  CHECK(lines_in(out / "steps.csv") == 10001);
  const ProcessResult data =
      check_report({"data", (out / "report.html").string(), out.string(), "--max-bytes", "2000000"});
  INFO(data.out << data.err);
  CHECK(data.exit_code == 0);
}

TEST_CASE("downsampling keeps every bucket's extremes and non-finite values") {
  std::vector<double> y(10000, 1.0);
  y[4321] = 50.0;
  y[777] = -3.0;
  y[9000] = std::nan("");
  const auto keep = keel::display_points(y, 1000);
  CHECK(keep.size() <= 1000);
  CHECK(std::is_sorted(keep.begin(), keep.end()));
  for (std::size_t must : {std::size_t(4321), std::size_t(777), std::size_t(9000)})
    CHECK(std::find(keep.begin(), keep.end(), must) != keep.end());
  CHECK(keel::display_points(std::vector<double>(10, 0.0), 1000).size() == 10);
}

TEST_CASE("train.report false writes no report but still records the run's facts and steps") {
  TempDir dir;
  const fs::path out = dir / "plain";
  train_linreg(out, {"--set", "train.report=false", "--set", "train.epochs=3"});
  CHECK_FALSE(fs::exists(out / "report.html"));
  CHECK(fs::exists(out / "run.json"));
  CHECK(lines_in(out / "steps.csv") == 4);
  CHECK(slurp(out / "run.json").find("\"report\":false") != std::string::npos);
}

TEST_CASE("keel report refuses a missing folder, a folder that is not a run's, and malformed lines") {
  TempDir dir;
  const fs::path run = dir / "run";
  train_linreg(run, {"--set", "train.epochs=3", "--set", "poisoned.every=2", "--set", "poisoned.offset=1",
                     "--set", "train.report=false"});
  REQUIRE(lines_in(run / "anomalies.jsonl") > 0);
  auto expect_refused = [&](const fs::path& folder, const std::string& where) {
    const ProcessResult r = run_keel({"report", folder.string()});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.first_err_line().rfind("keel: error: " + where, 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(folder / "report.html"));
  };
  expect_refused(dir / "nowhere", (dir / "nowhere").string() + ": no such folder");
  fs::create_directories(dir / "empty");
  expect_refused(dir / "empty", (dir / "empty").string() + ": not the output folder of a training run");

  // Each file broken in a copy of the good folder, at a known line.
  struct Case {
    std::string file, append, line;
  };
  const std::vector<Case> cases = {
      {"metrics.jsonl", "{\"epoch\": 4, \"train_loss\": \n", "4"},
      {"metrics.jsonl", "[1, 2]\n", "4"},
      {"anomalies.jsonl", "{\"step\": \"x\", \"node\": \"guard\"}\n",
       std::to_string(lines_in(run / "anomalies.jsonl") + 1)},
      {"steps.csv", "3,0.5,abc,1\n", "5"},
      {"run.json", "trailing\n", "1"},
  };
  for (const auto& c : cases) {
    INFO(c.file << " + " << c.append);
    const fs::path copy = dir / "broken";
    fs::remove_all(copy);
    fs::copy(run, copy, fs::copy_options::recursive);
    std::ofstream(copy / c.file, std::ios::app) << c.append;
    expect_refused(copy, (copy / c.file).string() + ":" + c.line + ": ");
  }

  // Chart.js missing: a clear error naming the package, nothing written.
  const ProcessResult r = run_keel({"report", run.string()}, {{"KEEL_CHART_JS", (dir / "none.js").string()}});
  CHECK(r.exit_code == 1);
  CHECK(r.first_err_line().find("KEEL_CHART_JS") != std::string::npos);
  CHECK_FALSE(fs::exists(run / "report.html"));
  // And the good folder makes a report.
  CHECK(run_keel({"report", run.string(), "-q"}).exit_code == 0);
  CHECK(fs::exists(run / "report.html"));
}
