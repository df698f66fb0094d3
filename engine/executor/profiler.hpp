// Spans of work for `keel run --profile`: what ran, on which thread, when.
// Written as a Chrome trace (Trace Event Format, "X" complete events, one
// lane per thread) that chrome://tracing and Perfetto open.
//
// Recording takes a lock and appends 32 bytes; names are interned once, so
// a span costs about two clock reads when profiling is on and a null check
// when it is off.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace keel {

class Profiler {
 public:
  using Clock = std::chrono::steady_clock;

  // Categories shown in the trace ("cat"), one per kind of work.
  enum class Kind : std::uint8_t { step, forward, backward, optimizer, guard, io, eval };

  Profiler();

  // A stable id for a span name; intern names once, outside hot loops.
  int name_id(const std::string& name);
  void record(Kind kind, int name, Clock::time_point begin, Clock::time_point end, std::int64_t step = -1);

  // Writes the trace atomically (runtime/atomic_file). Throws keel::Error.
  void write_chrome_trace(const std::filesystem::path& file) const;

  // Times a block; does nothing when the profiler is null.
  class Span {
   public:
    Span(Profiler* p, Kind kind, int name, std::int64_t step = -1)
        : p_(p), kind_(kind), name_(name), step_(step), begin_(p ? Clock::now() : Clock::time_point()) {}
    ~Span() {
      if (p_) p_->record(kind_, name_, begin_, Clock::now(), step_);
    }
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;

   private:
    Profiler* p_;
    Kind kind_;
    int name_;
    std::int64_t step_;
    Clock::time_point begin_;
  };

 private:
  struct Event {
    Clock::time_point begin, end;
    std::int64_t step;
    int name;
    int lane;
    Kind kind;
  };
  int lane_of_this_thread();  // under mutex_

  mutable std::mutex mutex_;
  Clock::time_point origin_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, int> ids_;
  std::vector<Event> events_;
  std::vector<std::pair<std::uint64_t, int>> lanes_;  // thread key -> lane
};

}  // namespace keel
