#include "training/run_record.hpp"

#include <cstdio>
#include <ctime>

#include "base/json.hpp"
#include "runtime/atomic_file.hpp"

namespace keel {

StepLog::StepLog(const std::filesystem::path& path, bool append) : file_(path, append) {
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) == 0 && !ec) file_.write_line("step,loss,lr,grad_norm");
  pending_.reserve(64 * 1024);
}

void StepLog::add(std::uint64_t step, double loss, double lr, double grad_norm) {
  // %.9g keeps a float's value exactly and a double's to plotting precision.
  char line[128];
  const int n = std::snprintf(line, sizeof line, "%llu,%.9g,%.9g,%.9g\n",
                              static_cast<unsigned long long>(step), loss, lr, grad_norm);
  if (n > 0) pending_.append(line, std::size_t(n));
}

void StepLog::flush() {
  if (pending_.empty() || !file_.is_open()) return;
  pending_.pop_back();  // write_line adds the last newline
  file_.write_line(pending_);
  pending_.clear();
}

std::string RunFacts::to_json() const {
  auto str = [](const std::string& s) { return json_quote(s); };
  auto num = [](auto v) { return json_number(double(v)); };
  std::string plugin_list;
  for (const auto& p : plugins)
    plugin_list += (plugin_list.empty() ? "" : ",") + std::string("{\"name\":") + str(p.name) +
                   ",\"version\":" + str(p.version) + ",\"file\":" + str(p.file) + "}";
  return "{\"format\":\"keel-run-1\",\"graph_file\":" + str(graph_file) +
         ",\"graph_name\":" + str(graph_name) + ",\"seed\":" + std::to_string(seed) +
         ",\"threads\":" + std::to_string(threads) + ",\"inter_op\":" + std::to_string(inter_op) +
         ",\"keel_version\":" + str(keel_version) + ",\"plugins\":[" + plugin_list +
         "],\"loss\":" + str(loss) + ",\"metric\":" + str(metric) + ",\"optimizer\":" + str(optimizer) +
         ",\"lr\":" + num(lr) + ",\"clip_grad_norm\":" + num(clip_grad_norm) +
         ",\"batch\":" + std::to_string(batch) + ",\"epochs\":" + std::to_string(epochs) +
         ",\"total_steps\":" + std::to_string(total_steps) +
         ",\"batches_per_epoch\":" + std::to_string(batches_per_epoch) + ",\"metrics\":" + str(metrics) +
         ",\"checkpoint\":" + str(checkpoint) + ",\"sealed\":" + (sealed ? "true" : "false") +
         ",\"signed\":false,\"profile\":" + str(profile) + ",\"resumed_from\":" + str(resumed_from) +
         ",\"first_step\":" + std::to_string(first_step) + ",\"started\":" + str(started) +
         ",\"report\":" + (report ? "true" : "false") + ",\"status\":" + str(status) +
         ",\"steps\":" + std::to_string(steps) + ",\"seconds\":" + num(seconds) +
         ",\"peak_bytes\":" + std::to_string(peak_bytes) +
         ",\"guard_events\":" + std::to_string(guard_events) + ",\"graph_dot\":" + str(graph_dot) + "}";
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void write_run_facts(const std::filesystem::path& path, const RunFacts& facts) {
  const std::string json = facts.to_json();
  AtomicFileOptions options;
  options.durable = false;  // a description of the run, rewritten at its end
  write_file_atomically(
      path, [&](std::ostream& out) { out << json << '\n'; }, options);
}

}  // namespace keel
