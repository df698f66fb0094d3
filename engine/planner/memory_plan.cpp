#include "planner/memory_plan.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace keel {

namespace {
constexpr std::size_t kAlign = 64;
std::size_t rounded(std::size_t b) { return (b + kAlign - 1) / kAlign * kAlign; }
}  // namespace

MemoryPlan plan_memory(const std::vector<BufferLife>& buffers) {
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  plan.reuses.assign(buffers.size(), -1);
  // Buffers by the position their life starts and ends; at one position the
  // new buffers are placed before any ending one is returned, since a task
  // reads its inputs while it writes its outputs.
  std::vector<int> by_first, by_last;
  for (std::size_t b = 0; b < buffers.size(); ++b) {
    if (buffers[b].last < buffers[b].first) throw std::logic_error("buffer life ends before it starts");
    plan.naive_bytes += rounded(buffers[b].bytes);
    if (buffers[b].bytes == 0) continue;
    by_first.push_back(int(b));
    by_last.push_back(int(b));
  }
  std::stable_sort(by_first.begin(), by_first.end(), [&](int a, int b) {
    return buffers[std::size_t(a)].first < buffers[std::size_t(b)].first;
  });
  std::stable_sort(by_last.begin(), by_last.end(),
                   [&](int a, int b) { return buffers[std::size_t(a)].last < buffers[std::size_t(b)].last; });

  struct Block {
    std::size_t offset, bytes;
    int occupant;
  };
  std::vector<Block> blocks;
  std::multimap<std::size_t, int> free_blocks;  // size -> block
  std::vector<int> block_of(buffers.size(), -1);
  std::size_t f = 0, l = 0;
  while (f < by_first.size()) {
    const int pos = buffers[std::size_t(by_first[f])].first;
    // Return the blocks of buffers whose life ended before this position.
    for (; l < by_last.size() && buffers[std::size_t(by_last[l])].last < pos; ++l) {
      const int blk = block_of[std::size_t(by_last[l])];
      // Unless an in-place buffer took the block over.
      if (blocks[std::size_t(blk)].occupant == by_last[l])
        free_blocks.emplace(blocks[std::size_t(blk)].bytes, blk);
    }
    for (; f < by_first.size() && buffers[std::size_t(by_first[f])].first == pos; ++f) {
      const int b = by_first[f];
      const std::size_t need = rounded(buffers[std::size_t(b)].bytes);
      const int in = buffers[std::size_t(b)].inplace_of;
      auto it = free_blocks.lower_bound(need);
      int blk;
      if (in >= 0 && block_of[std::size_t(in)] >= 0 && buffers[std::size_t(in)].last == pos &&
          blocks[std::size_t(block_of[std::size_t(in)])].occupant == in &&
          blocks[std::size_t(block_of[std::size_t(in)])].bytes >= need) {
        blk = block_of[std::size_t(in)];  // its tenant's life ends here: no return to the free list
        plan.reuses[std::size_t(b)] = in;
      } else if (it != free_blocks.end()) {
        blk = it->second;
        free_blocks.erase(it);
        plan.reuses[std::size_t(b)] = blocks[std::size_t(blk)].occupant;
      } else {
        blk = int(blocks.size());
        blocks.push_back({plan.arena_bytes, need, -1});
        plan.arena_bytes += need;
      }
      blocks[std::size_t(blk)].occupant = b;
      block_of[std::size_t(b)] = blk;
      plan.offsets[std::size_t(b)] = blocks[std::size_t(blk)].offset;
    }
  }
  return plan;
}

}  // namespace keel
