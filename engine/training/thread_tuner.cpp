#include "training/thread_tuner.hpp"

#include <dirent.h>
#include <dlfcn.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include <cstdio>
#include <string>

namespace keel {
namespace {

// A window long enough to hold several scheduler time slices, short next to
// a small model's whole run (the flagship trains in 0.2 s); a reduced count
// is kept for kHold before all threads are tried again (a window at the full
// count every kHold: 0.5% of the time, when the machine stays busy).
// Reading the counters costs about 30 µs per window.
constexpr std::chrono::milliseconds kWindow{25};
constexpr std::chrono::milliseconds kFirstWindow{10};
constexpr std::chrono::seconds kHold{5};
// Waiting on run queues, summed over this process's threads, as a share of
// the wall time: above it, the cores are oversubscribed.
constexpr double kBusyShare = 0.10;

// The OpenMP runtime came with the plugins (oneDNN's libgomp), loaded
// privately (RTLD_LOCAL): its entry point is found through its own handle.
void set_openmp_threads(int n) {
  using Set = void (*)(int);
  static const Set set = [] {
    void* gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD);
    return gomp ? reinterpret_cast<Set>(dlsym(gomp, "omp_set_num_threads")) : nullptr;
  }();
  if (!set) return;
#if defined(__SANITIZE_ADDRESS__)
  // libgomp allocates a thread's count on its first set and frees it when
  // the thread ends; the main thread's is only reachable from its TLS, which
  // LeakSanitizer may not scan (scripts/test --sanitize address).
  __lsan::ScopedDisabler libgomp_thread_state;
#endif
  set(n);
}

// Seconds this process's threads spent runnable but not running, from each
// task's schedstat ("on-CPU ns, run-queue wait ns, time slices").
double run_queue_wait_seconds() {
  DIR* tasks = opendir("/proc/self/task");
  if (!tasks) return 0;
  unsigned long long total = 0;
  while (const dirent* e = readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + e->d_name + "/schedstat";
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      unsigned long long on_cpu = 0, waited = 0;
      if (std::fscanf(f, "%llu %llu", &on_cpu, &waited) == 2) total += waited;
      std::fclose(f);
    }
  }
  closedir(tasks);
  return double(total) * 1e-9;
}

}  // namespace

ThreadTuner::ThreadTuner(int most) : most_(most), current_(most) {
  if (enabled()) start_window(Clock::now());
}

void ThreadTuner::set(int threads) {
  current_ = threads;
  set_openmp_threads(threads);
}

void ThreadTuner::start_window(Clock::time_point now) {
  window_start_ = now;
  waited_at_start_ = run_queue_wait_seconds();
}

void ThreadTuner::tick() {
  if (!enabled()) return;
  const auto now = Clock::now();
  if (now - window_start_ < (first_ ? kFirstWindow : kWindow)) return;
  first_ = false;
  if (current_ < most_) {
    if (now < reduced_until_) return;
    set(most_);  // try all threads again: the next window measures them
    start_window(now);
    return;
  }
  const double wall = std::chrono::duration<double>(now - window_start_).count();
  const double waited = run_queue_wait_seconds() - waited_at_start_;
  if (waited > kBusyShare * wall) {
    set(1);
    reduced_until_ = now + kHold;
  }
  start_window(now);
}

}  // namespace keel
