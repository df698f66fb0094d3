#include "report/run_folder.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "base/error.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

// Sample grids beyond these are left out of the report (with a note), so
// that a long generative run still makes a file that opens quickly.
constexpr std::size_t kMaxSamples = 24;
constexpr std::uintmax_t kMaxSampleBytes = 256 * 1024;
// Traces larger than this are not read (a note says so): the per-node
// times need every span in memory.
constexpr std::uintmax_t kMaxTraceBytes = 256u << 20;

std::string read_whole(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw usage_error("cannot read '" + file.string() + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Calls `line(text, number)` for every line but empty ones (1-based numbers).
template <typename F>
void for_each_line(const fs::path& file, F&& line) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw usage_error("cannot read '" + file.string() + "'");
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (!text.empty()) line(text, number);
  }
}

JsonValue json_line(const std::string& text, const fs::path& file, int number) {
  try {
    return parse_json(text, file.string());
  } catch (const Error& e) {
    // "FILE: JSON error at byte N: what" becomes "FILE:LINE: JSON error ...".
    std::string why = e.message();
    throw usage_error("not a JSON line (" + why + ")", SourceLoc{file.string(), number, 0});
  }
}

// One metrics line: an object with an integer epoch.
void read_metrics(const fs::path& file, RunFolder& run) {
  for_each_line(file, [&](const std::string& text, int number) {
    JsonValue v = json_line(text, file, number);
    const JsonValue* epoch = v.find("epoch");
    if (!v.is_object() || !epoch || !epoch->to_int64())
      throw usage_error("a metrics line must be a JSON object with an integer \"epoch\"",
                        SourceLoc{file.string(), number, 0});
    run.epochs.push_back(std::move(v));
  });
}

// One guard event: an object with an integer step and a string node.
void read_events(const fs::path& file, RunFolder& run, std::size_t max_events) {
  for_each_line(file, [&](const std::string& text, int number) {
    JsonValue v = json_line(text, file, number);
    const JsonValue* step = v.find("step");
    const JsonValue* node = v.find("node");
    if (!v.is_object() || !step || !step->to_uint64() || !node || !node->is_string())
      throw usage_error("a guard event must be a JSON object with an integer \"step\" and a \"node\"",
                        SourceLoc{file.string(), number, 0});
    if (run.events.size() < max_events) run.events.push_back(std::move(v));
    ++run.event_lines;
  });
}

// A number as steps.csv writes it (%.9g: "nan", "inf" included).
bool parse_field(const std::string& s, double& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

void read_steps(const fs::path& file, RunFolder& run) {
  bool header = false;
  for_each_line(file, [&](const std::string& text, int number) {
    const SourceLoc where{file.string(), number, 0};
    if (!header) {
      if (text != "step,loss,lr,grad_norm")
        throw usage_error("expected the header 'step,loss,lr,grad_norm'", where);
      header = true;
      return;
    }
    double field[4];
    std::size_t begin = 0;
    for (int i = 0; i < 4; ++i) {
      const std::size_t comma = i < 3 ? text.find(',', begin) : text.size();
      if (comma == std::string::npos || (i == 3 && text.find(',', begin) != std::string::npos) ||
          !parse_field(text.substr(begin, comma - begin), field[i]))
        throw usage_error("expected four numbers: step,loss,lr,grad_norm", where);
      begin = comma + 1;
    }
    run.steps.step.push_back(field[0]);
    run.steps.loss.push_back(field[1]);
    run.steps.lr.push_back(field[2]);
    run.steps.grad_norm.push_back(field[3]);
  });
}

void read_trace(const fs::path& file, RunFolder& run) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) {
    run.notes.push_back("the profile '" + file.string() + "' could not be read: " + ec.message());
    return;
  }
  if (size > kMaxTraceBytes) {
    run.notes.push_back("the profile '" + file.string() + "' is too large to summarize here");
    return;
  }
  JsonLimits limits;
  limits.max_bytes = kMaxTraceBytes;
  limits.max_values = std::size_t{1} << 26;
  JsonValue trace;
  try {
    trace = parse_json(read_whole(file), file.string(), limits);
  } catch (const Error& e) {
    run.notes.push_back("the profile could not be read: " + e.format());
    return;
  }
  const JsonValue* events = trace.find("traceEvents");
  if (!events || !events->is_array()) {
    run.notes.push_back("the profile '" + file.string() + "' has no traceEvents");
    return;
  }
  std::map<std::string, std::size_t> index;
  for (const JsonValue& e : events->items) {
    const JsonValue *name = e.find("name"), *cat = e.find("cat"), *dur = e.find("dur"), *ph = e.find("ph");
    if (!name || !cat || !dur || !ph || !name->is_string() || !cat->is_string() || !dur->is_number() ||
        ph->text != "X")
      continue;
    const bool forward = cat->text == "forward";
    if (!forward && cat->text != "backward") continue;
    auto [it, fresh] = index.emplace(name->text, run.node_times.size());
    if (fresh) run.node_times.push_back({name->text});
    NodeTime& t = run.node_times[it->second];
    (forward ? t.forward_ms : t.backward_ms) += dur->number / 1000.0;
    ++(forward ? t.forward_calls : t.backward_calls);
  }
}

// DIR/samples/epoch-NNN.png, in epoch order.
void read_samples(const fs::path& folder, RunFolder& run) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return;
  std::vector<std::pair<int, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 11 || name.rfind("epoch-", 0) != 0 || name.substr(name.size() - 4) != ".png") continue;
    const std::string digits = name.substr(6, name.size() - 10);
    if (digits.empty() || digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), ::isdigit))
      continue;
    found.emplace_back(std::stoi(digits), entry.path());
  }
  std::sort(found.begin(), found.end());
  // Evenly spaced when there are too many, always with the last.
  std::vector<std::pair<int, fs::path>> kept;
  for (std::size_t i = 0; i < found.size() && found.size() > 0; ++i)
    if (found.size() <= kMaxSamples || i % ((found.size() + kMaxSamples - 1) / kMaxSamples) == 0 ||
        i + 1 == found.size())
      kept.push_back(found[i]);
  if (kept.size() < found.size())
    run.notes.push_back("showing " + std::to_string(kept.size()) + " of " + std::to_string(found.size()) +
                        " sample grids");
  static const std::string kPngSignature = "\x89PNG\r\n\x1a\n";
  for (const auto& [epoch, file] : kept) {
    const auto size = fs::file_size(file, ec);
    if (ec || size > kMaxSampleBytes) {
      run.notes.push_back("sample grid '" + file.filename().string() + "' left out: larger than 256 KiB");
      continue;
    }
    std::string bytes = read_whole(file);
    if (bytes.compare(0, kPngSignature.size(), kPngSignature) != 0) {
      run.notes.push_back("sample grid '" + file.filename().string() + "' left out: not a PNG file");
      continue;
    }
    run.samples.push_back({epoch, std::move(bytes)});
  }
}

}  // namespace

RunFolder read_run_folder(const fs::path& dir, std::size_t max_events) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw usage_error("no such folder", SourceLoc{dir.string(), 0, 0});
  if (!fs::is_directory(dir, ec)) throw usage_error("not a folder", SourceLoc{dir.string(), 0, 0});
  RunFolder run;
  run.dir = dir;
  const fs::path facts_file = dir / "run.json";
  std::string metrics_name = "metrics.jsonl";
  if (fs::exists(facts_file, ec)) {
    try {
      run.facts = parse_json(read_whole(facts_file), facts_file.string());
    } catch (const Error& e) {
      throw usage_error("not a run's facts (" + e.message() + ")", SourceLoc{facts_file.string(), 1, 0});
    }
    const JsonValue* format = run.facts.find("format");
    if (!format || format->text != "keel-run-1")
      throw usage_error("not a run's facts: expected \"format\": \"keel-run-1\"",
                        SourceLoc{facts_file.string(), 1, 0});
    if (const JsonValue* m = run.facts.find("metrics"); m && m->is_string() && !m->text.empty())
      metrics_name = m->text;
  }
  const fs::path metrics = dir / metrics_name;
  const bool has_metrics = fs::is_regular_file(metrics, ec);
  if (run.facts.is_null() && !has_metrics)
    throw usage_error("not the output folder of a training run: it has neither run.json nor metrics.jsonl",
                      SourceLoc{dir.string(), 0, 0});
  if (has_metrics) read_metrics(metrics, run);
  if (fs::is_regular_file(dir / "anomalies.jsonl", ec)) read_events(dir / "anomalies.jsonl", run, max_events);
  if (fs::is_regular_file(dir / "steps.csv", ec)) read_steps(dir / "steps.csv", run);
  if (const JsonValue* p = run.facts.find("profile"); p && p->is_string() && !p->text.empty())
    read_trace(p->text, run);
  read_samples(dir / "samples", run);
  return run;
}

}  // namespace keel
