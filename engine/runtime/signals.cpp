#include "runtime/signals.hpp"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <mutex>
#include <thread>

namespace keel::signals {

namespace {

static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

// A slot of the table of temporaries. The handler only touches slots in
// state kRegistered, and claims one (kUnlinking) before reading its path, so
// a thread releasing the slot meanwhile waits instead of rewriting the path
// under the handler's feet.
enum SlotState : int { kFree = 0, kBusy = 1, kRegistered = 2, kUnlinking = 3 };

std::atomic<int> g_state[TemporaryFile::kMaxTemporaries];
char g_path[TemporaryFile::kMaxTemporaries][PATH_MAX];

std::atomic<int> g_graceful_depth{0};
std::atomic<int> g_requested{0};

void remove_registered_temporaries() {
  for (int i = 0; i < TemporaryFile::kMaxTemporaries; ++i) {
    int expected = kRegistered;
    if (g_state[i].compare_exchange_strong(expected, kUnlinking)) ::unlink(g_path[i]);
  }
}

void on_signal(int sig) {
  const int saved_errno = errno;
  if (g_graceful_depth.load() > 0) {
    int none = 0;
    if (g_requested.compare_exchange_strong(none, sig)) {
      errno = saved_errno;
      return;  // the first one only asks training to stop at a step boundary
    }
  }
  remove_registered_temporaries();
  // Die of the same signal, so the parent sees which one: the default
  // action runs as soon as the handler returns and unblocks it.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
}

}  // namespace

void install() {
  // Not once per process: another library (a test framework) may have put
  // its own handler in since, and a writer relies on ours being there. What
  // was ignored at the first call stays ignored for good.
  static std::mutex mutex;
  static bool first = true;
  static bool ignored[std::size(kSignals)] = {};
  const std::lock_guard lock(mutex);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  // While one of them is handled the others wait, so two signals never run
  // the handler nested; SA_RESTART keeps a recorded stop from failing the
  // read or write it interrupted.
  sigemptyset(&sa.sa_mask);
  for (int sig : kSignals) sigaddset(&sa.sa_mask, sig);
  sa.sa_flags = SA_RESTART;
  for (std::size_t i = 0; i < std::size(kSignals); ++i) {
    struct sigaction old {};
    if (::sigaction(kSignals[i], nullptr, &old) != 0) continue;
    if (first) ignored[i] = old.sa_handler == SIG_IGN;  // e.g. SIGHUP under nohup: the user asked for it
    if (ignored[i] || old.sa_handler == on_signal) continue;
    ::sigaction(kSignals[i], &sa, nullptr);
  }
  first = false;
}

TemporaryFile::TemporaryFile(const std::filesystem::path& path) {
  install();
  std::error_code ec;
  // Absolute, so the handler's unlink does not depend on the working folder.
  const std::string name = std::filesystem::absolute(path, ec).string();
  if (ec || name.size() >= PATH_MAX) return;
  for (int i = 0; i < kMaxTemporaries; ++i) {
    int expected = kFree;
    if (!g_state[i].compare_exchange_strong(expected, kBusy)) continue;
    std::memcpy(g_path[i], name.c_str(), name.size() + 1);
    g_state[i].store(kRegistered);
    slot_ = i;
    return;
  }
}

TemporaryFile::~TemporaryFile() {
  if (slot_ < 0) return;
  for (;;) {
    int expected = kRegistered;
    if (g_state[slot_].compare_exchange_strong(expected, kBusy)) break;
    // kUnlinking: another thread's handler is removing it and the process
    // is about to die of that signal; wait for that.
    std::this_thread::yield();
  }
  g_state[slot_].store(kFree);
}

GracefulStop::GracefulStop() {
  install();
  g_graceful_depth.fetch_add(1);
}

GracefulStop::~GracefulStop() { g_graceful_depth.fetch_sub(1); }

int GracefulStop::requested() { return g_requested.load(); }

}  // namespace keel::signals
