// Where each tensor of a step lives: buffers whose lifetimes do not overlap
// share memory, so a step needs the peak of what is alive at once rather than
// the sum of every tensor.
//
// A buffer's lifetime is a range of positions in one fixed order of tasks
// (the executor numbers forward nodes, then backward steps). Blocks are
// handed out first-fit by size as lifetimes start and returned as they end;
// a block is never split, so each buffer takes over the block of at most one
// earlier buffer (`reuses`), which is what a parallel scheduler must order
// after (every task touching the earlier buffer before the first task of
// the later one). A buffer may also take over its task's input in place
// (`inplace_of`); then `reuses` names that input and the two share memory
// at that one position, where only the task itself touches both.
#pragma once

#include <cstddef>
#include <vector>

namespace keel {

struct BufferLife {
  std::size_t bytes = 0;
  int first = 0;  // position of the task that first writes it
  int last = 0;   // position of the last task that reads it (>= first)
  // In place: a buffer whose life ends at this one's first position (the
  // task's input) and that this one may take over, memory and all, instead
  // of a block of its own. Ignored when that buffer lives on or is smaller.
  int inplace_of = -1;
};

struct MemoryPlan {
  std::vector<std::size_t> offsets;  // per buffer, into one arena
  std::vector<int> reuses;           // per buffer: the buffer whose block it takes, or -1
  std::size_t arena_bytes = 0;       // the peak: what the step needs
  std::size_t naive_bytes = 0;       // one allocation per buffer
};

// Offsets are multiples of 64 bytes. Empty buffers get offset 0 and no block.
MemoryPlan plan_memory(const std::vector<BufferLife>& buffers);

}  // namespace keel
