#include "training/console_observer.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <string>

#include "base/error.hpp"

namespace keel {

namespace {

// The progress bar redraws at most this often: a redraw is a write(2) to
// the terminal, and one per step cost the flagship ~12% of its speed.
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
// Guard events are printed as lines above the bar up to this many; the rest
// are counted on the bar (all of them are in anomalies.jsonl).
constexpr std::size_t kEventLines = 20;

std::string duration(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

}  // namespace

ConsoleObserver::ConsoleObserver(bool quiet, bool tty) : quiet_(quiet), tty_(tty && !quiet) {}

void ConsoleObserver::clear_bar() const {
  if (tty_) std::fprintf(stderr, "\r%80s\r", "");
}

void ConsoleObserver::on_run_begin(const RunInfo& info) {
  info_ = info;
  start_ = Clock::now();
  last_redraw_ = start_ - kRedrawEvery;
}

void ConsoleObserver::on_step(const StepInfo& s) {
  if (!tty_) return;
  for (const auto& e : *s.events)
    if (event_lines_++ < kEventLines)
      std::fprintf(stderr, "\r%80s\rstep %llu: guard '%s' (%s) fired: score %.4g, threshold %.4g; %s\n", "",
                   static_cast<unsigned long long>(s.step), printable(e.node).c_str(), e.check.c_str(),
                   e.score, e.threshold, e.action.c_str());
  if (s.action == GuardAction::abort) return;  // the run ends here, with its error
  if (Clock::now() - last_redraw_ < kRedrawEvery && !s.last) return;
  last_redraw_ = Clock::now();
  const std::uint64_t done = s.step + 1;
  const double secs = std::chrono::duration<double>(last_redraw_ - start_).count();
  const double rate = double(s.steps_this_run) / std::max(secs, 1e-9);
  const std::size_t fired = info_.guards ? info_.guards->events() : 0;
  std::string losses;
  char buf[64];
  if (s.phases)
    for (const PhaseStep& p : *s.phases) {
      std::snprintf(buf, sizeof buf, " %.4f", p.loss);
      losses += "  " + p.name + buf;
    }
  else
    std::snprintf(buf, sizeof buf, "  loss %.4f", s.loss), losses = buf;
  std::fprintf(stderr, "\rstep %llu/%lld  epoch %lld%s  %.0f steps/s  ETA %s%s   ",
               static_cast<unsigned long long>(done), static_cast<long long>(info_.total_steps),
               static_cast<long long>(s.epoch + 1), losses.c_str(), rate,
               duration(double(std::uint64_t(info_.total_steps) - done) / std::max(rate, 1e-9)).c_str(),
               fired ? ("  guard events " + std::to_string(fired)).c_str() : "");
}

void ConsoleObserver::on_epoch(const EpochInfo& e) {
  // At most twenty epoch lines, however many epochs the steps make.
  const std::int64_t per_epoch = std::max<std::int64_t>(1, info_.batches_per_epoch);
  const std::int64_t epochs_total =
      std::max<std::int64_t>(1, (info_.total_steps + per_epoch - 1) / per_epoch);
  const std::int64_t every = (epochs_total + 19) / 20;
  const bool report = e.epoch + 1 >= epochs_total || (e.epoch + 1) % every == 0;
  if (quiet_ || !(report || e.last)) return;
  clear_bar();
  // The batch loss is the training-mode mean over the epoch's batches
  // (dropout on, batch statistics); the accuracies and the hold-out loss
  // are measured afterwards in inference mode on whole splits.
  const MetricKind metric = info_.metric;
  if (!e.phases.empty()) {
    // Several objectives: each phase's losses, which are not comparable
    // with each other.
    std::printf("epoch %lld:", static_cast<long long>(e.epoch + 1));
    for (const PhaseEpoch& p : e.phases) {
      std::printf(" %s batch loss %.4f", p.name.c_str(), p.train_loss);
      if (info_.holdout) std::printf(" (hold-out %.4f)", p.holdout_loss);
      std::printf(&p == &e.phases.back() ? "\n" : ";");
    }
    std::fflush(stdout);
    return;
  }
  std::printf("epoch %lld: batch loss %.4f", static_cast<long long>(e.epoch + 1), e.train_loss);
  if (metric == MetricKind::accuracy) std::printf("; train accuracy %.2f%%", 100 * e.train_metric);
  if (metric == MetricKind::r2) std::printf("; train R^2 %.4f", e.train_metric);
  if (info_.holdout) {
    std::printf("; hold-out loss %.4f", e.holdout.loss);
    if (metric == MetricKind::accuracy) std::printf(" accuracy %.2f%%", 100 * e.holdout.metric);
    if (metric == MetricKind::r2) std::printf(" R^2 %.4f", e.holdout.metric);
  }
  std::printf("\n");
  std::fflush(stdout);
}

void ConsoleObserver::on_run_end(const RunEnd& end) {
  switch (end.status) {
    case RunStatus::aborted:
      // The error line follows from the caller; the summary comes first.
      if (!quiet_ && info_.guards) info_.guards->print_summary(stdout), std::fflush(stdout);
      return;
    case RunStatus::stopped: {
      clear_bar();
      const std::string ckpt = info_.checkpoint.string();
      const std::string where = printable(ckpt, 300);  // a path from the graph: shown escaped
      std::fprintf(stderr, "keel: stopped by %s at step %llu: %s\n", signal_name(end.signal),
                   static_cast<unsigned long long>(end.step),
                   ckpt.empty()
                       ? "no checkpoint is configured"
                       : ("checkpoint '" + where + "' written; continue with --resume " + where).c_str());
      return;
    }
    case RunStatus::completed:
      if (quiet_) return;
      if (info_.guards) info_.guards->print_summary(stdout);
      std::printf("trained %llu steps in %.2f s (%.0f steps/s)\n",
                  static_cast<unsigned long long>(end.steps_this_run), end.seconds,
                  double(end.steps_this_run) / std::max(end.seconds, 1e-9));
      return;
  }
}

}  // namespace keel
