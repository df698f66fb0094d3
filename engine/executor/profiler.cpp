#include "executor/profiler.hpp"

#include <cstdio>
#include <functional>
#include <ostream>
#include <thread>

#include "base/json.hpp"
#include "keel/schema.hpp"
#include "runtime/atomic_file.hpp"

namespace keel {

namespace {
const char* kind_name(Profiler::Kind k) {
  return enum_name(k, {"step", "forward", "backward", "optimizer", "guard", "io", "eval"});
}
}  // namespace

// The thread that makes the profiler (the main thread) is lane 0.
Profiler::Profiler() : origin_(Clock::now()) {
  events_.reserve(1 << 16);
  lane_of_this_thread();
}

int Profiler::name_id(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto [it, added] = ids_.emplace(name, int(names_.size()));
  if (added) names_.push_back(name);
  return it->second;
}

int Profiler::lane_of_this_thread() {
  const std::uint64_t key = std::hash<std::thread::id>()(std::this_thread::get_id());
  for (const auto& [k, lane] : lanes_)
    if (k == key) return lane;
  lanes_.emplace_back(key, int(lanes_.size()));
  return int(lanes_.size()) - 1;
}

void Profiler::record(Kind kind, int name, Clock::time_point begin, Clock::time_point end,
                      std::int64_t step) {
  std::lock_guard lock(mutex_);
  events_.push_back({begin, end, step, name, lane_of_this_thread(), kind});
}

void Profiler::write_chrome_trace(const std::filesystem::path& file) const {
  std::lock_guard lock(mutex_);
  auto us = [&](Clock::time_point t) {
    return std::chrono::duration<double, std::micro>(t - origin_).count();
  };
  write_file_atomically(file, [&](std::ostream& out) {
    out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
    out << "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"keel\"}}";
    for (const auto& [key, lane] : lanes_)
      out << ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" << lane
          << ",\"args\":{\"name\":\"" << (lane == 0 ? std::string("main") : "thread " + std::to_string(lane))
          << "\"}}";
    char buf[64];
    for (const auto& e : events_) {
      out << ",\n{\"name\":" << json_quote(names_[std::size_t(e.name)]) << ",\"cat\":\"" << kind_name(e.kind)
          << "\",\"ph\":\"X\",\"pid\":1,\"tid\":" << e.lane;
      std::snprintf(buf, sizeof buf, ",\"ts\":%.3f,\"dur\":%.3f", us(e.begin), us(e.end) - us(e.begin));
      out << buf;
      if (e.step >= 0) out << ",\"args\":{\"step\":" << e.step << "}";
      out << "}";
    }
    out << "\n]}\n";
  });
}

}  // namespace keel
