#include "allocation_count.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>

namespace {

std::atomic<std::uint64_t> g_calls{0}, g_bytes{0}, g_nanoseconds{0};
std::atomic<bool> g_timed{false};

std::uint64_t now_ns() {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count());
}

}  // namespace

namespace keel::bench {

AllocationCount allocations_so_far() {
  return {g_calls.load(std::memory_order_relaxed), g_bytes.load(std::memory_order_relaxed),
          g_nanoseconds.load(std::memory_order_relaxed)};
}

void time_allocations(bool on) { g_timed.store(on, std::memory_order_relaxed); }

}  // namespace keel::bench

// libstdc++'s operator new[] and the nothrow forms call this one, and its
// operator delete[] and sized delete call the unsized delete below.
void* operator new(std::size_t bytes) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(bytes, std::memory_order_relaxed);
  const bool timed = g_timed.load(std::memory_order_relaxed);
  const std::uint64_t t0 = timed ? now_ns() : 0;
  void* p = std::malloc(bytes ? bytes : 1);
  if (timed) g_nanoseconds.fetch_add(now_ns() - t0, std::memory_order_relaxed);
  if (!p) throw std::bad_alloc();
  return p;
}

void operator delete(void* p) noexcept {
  if (!g_timed.load(std::memory_order_relaxed)) return std::free(p);
  const std::uint64_t t0 = now_ns();
  std::free(p);
  g_nanoseconds.fetch_add(now_ns() - t0, std::memory_order_relaxed);
}

void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
