#include "runtime/allocator_tuning.hpp"

#include <malloc.h>

namespace keel {

void keep_freed_memory() {
  // Setting these turns off glibc's own adjustment of both thresholds.
  // 32 MiB is the largest mmap threshold glibc accepts on 64-bit.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Grow the heap in 64 MiB steps: fewer brk calls for a large model.
  mallopt(M_TOP_PAD, 64 << 20);
}

}  // namespace keel
