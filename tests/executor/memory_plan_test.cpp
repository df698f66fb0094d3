// The memory plan against the definition of a correct one: buffers alive at
// the same time never share a byte, each fits in the arena, and the arena is
// no smaller than what is alive at the busiest position.
#include "planner/memory_plan.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

using namespace keel;

namespace {

void check_plan(const std::vector<BufferLife>& bufs, const MemoryPlan& plan) {
  REQUIRE(plan.offsets.size() == bufs.size());
  std::size_t naive = 0;
  int last_pos = 0;
  for (const auto& b : bufs) {
    naive += (b.bytes + 63) / 64 * 64;
    last_pos = std::max(last_pos, b.last);
  }
  CHECK(plan.naive_bytes == naive);
  CHECK(plan.arena_bytes <= naive);
  for (std::size_t a = 0; a < bufs.size(); ++a) {
    CHECK(plan.offsets[a] % 64 == 0);
    CHECK(plan.offsets[a] + bufs[a].bytes <= std::max<std::size_t>(plan.arena_bytes, bufs[a].bytes ? 0 : 1));
    for (std::size_t b = a + 1; b < bufs.size(); ++b) {
      if (!bufs[a].bytes || !bufs[b].bytes) continue;
      const bool live_together = bufs[a].first <= bufs[b].last && bufs[b].first <= bufs[a].last;
      const bool share = plan.offsets[a] < plan.offsets[b] + bufs[b].bytes &&
                         plan.offsets[b] < plan.offsets[a] + bufs[a].bytes;
      // In place: b takes over a at the one position where a's life ends
      // and b's starts (the op reads a and writes b).
      const bool in_place =
          bufs[b].inplace_of == int(a) && plan.reuses[b] == int(a) && bufs[a].last == bufs[b].first;
      const bool in_place_rev =
          bufs[a].inplace_of == int(b) && plan.reuses[a] == int(b) && bufs[b].last == bufs[a].first;
      INFO("buffers " << a << " and " << b);
      CHECK_FALSE((live_together && share && !in_place && !in_place_rev));
    }
    if (plan.reuses[a] >= 0) {
      const auto& prev = bufs[std::size_t(plan.reuses[a])];
      // In place, the two meet at one position (whether the block is big
      // enough shows in the overlap check above: the block may be larger
      // than its previous tenant).
      if (bufs[a].inplace_of == plan.reuses[a])
        CHECK(prev.last <= bufs[a].first);
      else
        CHECK(prev.last < bufs[a].first);
      CHECK(plan.offsets[std::size_t(plan.reuses[a])] == plan.offsets[a]);
    }
  }
  std::size_t busiest = 0;
  for (int p = 0; p <= last_pos; ++p) {
    // What must be apart at p: everything alive, except that a buffer taken
    // over in place at p and its successor count once.
    std::size_t live = 0;
    for (std::size_t i = 0; i < bufs.size(); ++i) {
      const auto& b = bufs[i];
      const bool replaced = b.last == p && std::any_of(bufs.begin(), bufs.end(), [&](const BufferLife& c) {
                              return c.first == p && c.inplace_of == int(i) &&
                                     plan.reuses[std::size_t(&c - bufs.data())] == int(i);
                            });
      if (b.first <= p && p <= b.last && !replaced) live += b.bytes;
    }
    busiest = std::max(busiest, live);
  }
  CHECK(plan.arena_bytes >= busiest);
}

}  // namespace

TEST_CASE("a chain of equal tensors needs two buffers, not one per tensor") {
  std::vector<BufferLife> chain;
  for (int i = 0; i < 10; ++i) chain.push_back({4096, i, i + 1});
  const MemoryPlan plan = plan_memory(chain);
  check_plan(chain, plan);
  CHECK(plan.naive_bytes == 10 * 4096);
  CHECK(plan.arena_bytes == 2 * 4096);
}

TEST_CASE("a chain of in-place ops needs one buffer") {
  std::vector<BufferLife> chain;
  for (int i = 0; i < 10; ++i) chain.push_back({4096, i, i + 1, i - 1});
  const MemoryPlan plan = plan_memory(chain);
  check_plan(chain, plan);
  CHECK(plan.arena_bytes == 4096);
  for (int i = 1; i < 10; ++i) CHECK(plan.reuses[std::size_t(i)] == i - 1);
}

TEST_CASE("in place is refused when the input lives on or is too small") {
  // Buffer 0 is read again at position 3, after buffer 1 starts at 1.
  std::vector<BufferLife> lives_on{{4096, 0, 3}, {4096, 1, 2, 0}};
  MemoryPlan plan = plan_memory(lives_on);
  check_plan(lives_on, plan);
  CHECK(plan.reuses[1] == -1);
  CHECK(plan.arena_bytes == 2 * 4096);
  std::vector<BufferLife> small{{64, 0, 1}, {4096, 1, 2, 0}};
  plan = plan_memory(small);
  check_plan(small, plan);
  CHECK(plan.reuses[1] == -1);
}

TEST_CASE("buffers alive together never overlap, on random lifetimes") {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<BufferLife> bufs;
    const int n = 1 + int(rng() % 40);
    for (int i = 0; i < n; ++i) {
      const int first = int(rng() % 30);
      const int len = int(rng() % 8);
      const std::size_t bytes = rng() % 5 == 0 ? 0 : 1 + rng() % 5000;
      // Sometimes in place of an earlier buffer (taken only when it fits).
      const int in = i > 0 && rng() % 3 == 0 ? int(rng() % std::uint32_t(i)) : -1;
      bufs.push_back({bytes, first, first + len, in});
    }
    check_plan(bufs, plan_memory(bufs));
  }
}

TEST_CASE("a life that ends before it starts is a programming error") {
  CHECK_THROWS(plan_memory({{64, 3, 2}}));
}
