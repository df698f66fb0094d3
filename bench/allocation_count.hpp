// Counts every operator new of the process, and times them with their
// operator delete while asked to, for bench_floor's breakdown of a training
// step. The plugins resolve operator new to the program's, so their
// allocations are counted too; tensors use aligned_alloc and are not seen.
// allocation_count.cpp replaces the global operator new: link it into one
// program only (bench_floor).
#pragma once

#include <cstdint>

namespace keel::bench {

struct AllocationCount {
  std::uint64_t calls = 0, bytes = 0;  // operator new
  std::uint64_t nanoseconds = 0;       // in operator new and delete while timed
};

// Totals since the program started.
AllocationCount allocations_so_far();

// While on, every operator new and delete is timed: two clock reads each,
// which the times include (tens of nanoseconds a call).
void time_allocations(bool on);

}  // namespace keel::bench
