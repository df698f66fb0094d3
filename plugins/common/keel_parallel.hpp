// How many OpenMP threads a hand-written loop of a plugin gets, from the
// bytes it touches (docs/performance.md, "Threads per op").
//
// A parallel region costs a fork and a join (2-5 µs on two cores; tens of
// µs when the second thread has gone to sleep since the last region, as it
// has for an evaluation pass between training steps) and, when another
// process holds a core, a scheduler time slice at the join for the
// preempted thread. Below kBytesPerThread per thread that costs more than
// the second thread saves (measured: the flagship's evaluation passes, ops
// of 0.7-1.5 MB, made 2 threads 9% slower than 1), so smaller loops run on
// the calling thread alone.
// The count never changes a result: every loop that uses this either writes
// disjoint elements or reduces in fixed-size blocks combined in a fixed
// order (see batchnorm's batch_moments.hpp).
#pragma once

#include <omp.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include <algorithm>
#include <cstdint>

namespace keel::parallel {

inline constexpr std::int64_t kBytesPerThread = 1024 * 1024;

inline int threads_for_bytes(std::int64_t bytes) {
  const std::int64_t by_size = bytes / kBytesPerThread;
  return int(std::clamp<std::int64_t>(by_size, 1, std::max(1, omp_get_max_threads())));
}

// Calls f(i) for i in [0, n) on `threads` threads, statically split; on one
// thread a plain loop (entering a parallel region, even of one thread,
// costs a call into the OpenMP runtime).
template <class F>
void parallel_for(std::int64_t n, int threads, F&& f) {
  if (threads <= 1) {
    for (std::int64_t i = 0; i < n; ++i) f(i);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t i = 0; i < n; ++i) f(i);
}

// Calls f(begin, end) over [0, n) in chunks, on as many threads as the
// bytes touched (n * bytes_per_element) warrant. For element-wise loops
// only: each call must write its own elements.
template <class F>
void for_chunks(std::int64_t n, std::int64_t bytes_per_element, F&& f) {
  constexpr std::int64_t kChunk = 16384;
  const int threads = threads_for_bytes(n * bytes_per_element);
  if (threads == 1) {
    f(std::int64_t(0), n);
    return;
  }
  parallel_for((n + kChunk - 1) / kChunk, threads,
               [&](std::int64_t c) { f(c * kChunk, std::min(n, (c + 1) * kChunk)); });
}

// Sets this thread's OpenMP thread count. libgomp keeps it in memory it
// allocates on a thread's first set and frees when the thread ends; the main
// thread never ends, so that memory is only ever reachable from its TLS,
// which LeakSanitizer may not scan (scripts/test --sanitize address): it is
// libgomp's, not a leak of ours.
inline void set_openmp_threads(int n) {
#if defined(__SANITIZE_ADDRESS__)
  __lsan::ScopedDisabler libgomp_thread_state;
#endif
  omp_set_num_threads(n);
}

// Sets this thread's OpenMP thread count to one for its lifetime: what
// oneDNN reads when it partitions a primitive it makes or runs. A primitive
// made and run under it never splits a sum between threads.
class OneThread {
 public:
  OneThread() : saved_(omp_get_max_threads()) { set_openmp_threads(1); }
  ~OneThread() { set_openmp_threads(saved_); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int saved_;
};

}  // namespace keel::parallel
