// How the process's allocator keeps memory it frees (glibc malloc).
//
// A training step allocates the same large tensors every time (a gathered
// batch, evaluation activations). By default glibc serves blocks over its
// mmap threshold with fresh mmap()s and unmaps them on free, and trims the
// heap back to the system: every step then touches fresh pages, each a
// page fault that the kernel zero-fills (12-14 µs per 4 KiB page on the
// VMs here; a quarter of the large benchmark model's run time in `perf`).
// Keeping freed blocks for reuse turns those into cache-warm memory.
#pragma once

#include <cstddef>

namespace keel {

// Serves blocks up to 32 MiB from the heap and keeps up to 1 GiB of freed
// memory for reuse. Call once, before the first large allocation.
void keep_freed_memory();

// Below this, reserve_huge_page_heap does nothing: a 2 MiB page pays off
// only where most of it gets used.
inline constexpr std::size_t kMinHugePageHeap = std::size_t{32} << 20;

// For work that is about to fill `bytes` (at most 1 GiB) of fresh memory
// with many small blocks, such as reading a graph of 100,000 nodes: grows
// the heap's free top by that much at once and asks the kernel to back it
// with transparent huge pages (madvise; honoured where THP is "madvise" or
// "always"), so that it is faulted in 2 MiB at a time. Reading, validating
// and planning such a graph took 25,000 faults of 4 KiB, a quarter of its
// time; with 2 MiB pages, a few dozen. Virtual memory only until touched;
// a touched 2 MiB page is resident whole. Call after keep_freed_memory.
void reserve_huge_page_heap(std::size_t bytes);

}  // namespace keel
