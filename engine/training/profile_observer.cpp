#include "training/profile_observer.hpp"

namespace keel {

namespace {

// The trace's name and category of each phase.
struct PhaseSpan {
  const char* name;
  Profiler::Kind kind;
};

constexpr PhaseSpan kSpans[] = {
    {"step", Profiler::Kind::step},
    {"guards", Profiler::Kind::guard},
    {"optimizer update", Profiler::Kind::optimizer},
    {"save checkpoint", Profiler::Kind::io},
    {"evaluate", Profiler::Kind::eval},
    {"write metrics", Profiler::Kind::io},
    {"write outputs", Profiler::Kind::io},
};
static_assert(std::size(kSpans) == std::tuple_size_v<std::array<int, 7>>);

}  // namespace

ProfileObserver::ProfileObserver(Profiler& profiler) : profiler_(profiler) {
  for (std::size_t i = 0; i < std::size(kSpans); ++i) names_[i] = profiler_.name_id(kSpans[i].name);
}

void ProfileObserver::on_phase_begin(Phase phase, std::int64_t step) noexcept {
  try {
    open_.push_back({phase, step, Profiler::Clock::now()});
  } catch (...) {  // out of memory: the span is lost, the run goes on
  }
}

void ProfileObserver::on_phase_end(Phase phase) noexcept {
  if (open_.empty() || open_.back().phase != phase) return;
  const Open o = open_.back();
  open_.pop_back();
  const auto i = static_cast<std::size_t>(phase);
  try {
    profiler_.record(kSpans[i].kind, names_[i], o.begin, Profiler::Clock::now(), o.step);
  } catch (...) {  // out of memory: the span is lost, the run goes on
  }
}

}  // namespace keel
