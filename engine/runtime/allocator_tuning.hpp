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

namespace keel {

// Serves blocks up to 32 MiB from the heap and keeps up to 1 GiB of freed
// memory for reuse. Call once, before the first large allocation.
void keep_freed_memory();

}  // namespace keel
