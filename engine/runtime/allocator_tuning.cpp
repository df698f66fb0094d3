#include "runtime/allocator_tuning.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace keel {

namespace {

// 32 MiB is the largest mmap threshold glibc accepts on 64-bit.
constexpr std::size_t kMmapThreshold = std::size_t{32} << 20;
// Grow the heap in 64 MiB steps: fewer brk calls for a large model.
constexpr std::size_t kTopPad = std::size_t{64} << 20;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::uintptr_t round_up(std::uintptr_t p, std::uintptr_t to) { return (p + to - 1) & ~(to - 1); }

}  // namespace

void keep_freed_memory() {
  // Setting these turns off glibc's own adjustment of both thresholds.
  mallopt(M_MMAP_THRESHOLD, int(kMmapThreshold));
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, int(kTopPad));
}

void reserve_huge_page_heap(std::size_t bytes) {
  bytes = std::min(bytes, std::size_t{1} << 30);
  if (bytes < kMinHugePageHeap) return;
  // glibc's heap hands out new blocks from its top chunk, which ends at the
  // program break (mallinfo2's keepcost is its size). Blocks that do not
  // fit in it make the heap grow, by the block and the top pad: with the
  // pad at `bytes`, one growth makes the top chunk large enough. Each block
  // stays under the mmap threshold, or it would be mapped on its own.
  mallopt(M_TOP_PAD, int(bytes));
  std::uintptr_t top = 0;
  void* held[8];
  int n = 0;
  for (;;) {
    const auto end = reinterpret_cast<std::uintptr_t>(::sbrk(0));
    const std::size_t free_top = mallinfo2().keepcost;
    if (top == 0) top = end - free_top;
    if (end - top >= bytes || n == 8) break;
    void* block = std::malloc(std::min(free_top + 4096, kMmapThreshold - 4096));
    if (!block) break;
    held[n++] = block;
  }
  // Freed next to the top chunk, they join it again; the trim threshold
  // keeps the heap from shrinking back.
  while (n > 0) std::free(held[--n]);
  mallopt(M_TOP_PAD, int(kTopPad));
  // Only whole 2 MiB pages inside the range can be huge; the top chunk's
  // header page stays a small one.
  const auto end = reinterpret_cast<std::uintptr_t>(::sbrk(0));
  const std::uintptr_t begin = round_up(top + 4096, kHugePage);
  if (end > begin + kHugePage)
    (void)::madvise(reinterpret_cast<void*>(begin), (end - begin) & ~(kHugePage - 1), MADV_HUGEPAGE);
}

}  // namespace keel
