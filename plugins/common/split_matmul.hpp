// A oneDNN matmul whose result does not depend on the OpenMP thread count.
//
// oneDNN 2.6's matmul (brgemm and GEMM alike) may split the reduction axis K
// between threads when M and N are small, then add the per-thread parts:
// `--threads 1` and `--threads 2` round differently, and training drifts
// apart. Here the rows of C (of each product in a batch) are cut into
// blocks whose size depends only on the shapes; each block is one oneDNN
// matmul made and run with a single OpenMP thread, so it never splits K,
// and the op's threads take whole blocks. Every element of C is then the
// same sum, in the same order, for any thread count.
//
// The blocks also decide how many threads a product gets: one block (under
// kFlopsPerBlock of work) runs on the calling thread alone, without a
// parallel region: docs/performance.md, "Threads per op". Each block packs
// b for oneDNN's kernel again, so blocks are few: at most kMaxRowBlocks.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common/keel_dnnl.hpp"
#include "common/keel_parallel.hpp"

namespace keel::dnnl_util {

using parallel::OneThread;

// What a SplitMatmul fuses into the product, in this order.
struct MatmulExtras {
  bool bias = false;  // + bias[1, N]
  bool add = false;   // + addend[M, N] (row-major), as a binary post-op
  bool relu = false;  // max(0, ·), as an eltwise post-op
};

class SplitMatmul {
 public:
  // A two-dimensional operand (of each product): its sizes, its strides in
  // elements, and the distance between consecutive products of a batch (0:
  // the same matrix for every product).
  struct Operand {
    dnnl::memory::dim rows, cols, row_stride, col_stride, batch_stride = 0;
  };

  using Extras = MatmulExtras;

  static constexpr double kFlopsPerBlock = 32e6;
  static constexpr int kMaxRowBlocks = 2;

  // For each of `batches` products: c[M, N] (row-major, products one after
  // the other) = a[M, K] · b[K, N], plus `extras`.
  void build(const Operand& a, const Operand& b, Extras extras = {}, dnnl::memory::dim batches = 1) {
    const auto M = a.rows, K = a.cols, N = b.cols;
    a_ = a;
    b_ = b;
    n_ = N;
    m_ = M;
    extras_ = extras;
    const double flops = 2.0 * double(M) * double(K) * double(N);
    const auto by_work = std::int64_t(flops / kFlopsPerBlock);
    const auto row_blocks = std::clamp<std::int64_t>(by_work, 1, std::min<std::int64_t>(kMaxRowBlocks, M));
    rows_ = (M + row_blocks - 1) / row_blocks;
    row_blocks_ = (M + rows_ - 1) / rows_;
    tail_ = M - (row_blocks_ - 1) * rows_;
    blocks_ = batches * row_blocks_;
    // More threads than blocks of kFlopsPerBlock would only wait.
    max_threads_ = std::max<std::int64_t>(1, std::int64_t(flops * double(batches) / kFlopsPerBlock));
    // A transposed a (a view with row stride 1) cut into row blocks gives
    // blocks whose leading dimension is not their height, which oneDNN's
    // fast kernels do not take (it falls back to a GEMM twice as slow): such
    // an a is copied into row-major order first, once per call.
    dense_a_ = row_blocks_ > 1 && a.row_stride == 1 && a.col_stride != 1;
    if (dense_a_) {
      a_ = {M, K, K, 1, M * K};
      dense_.resize(std::size_t(batches * M * K));
      transposed_a_ = a;
    }
    const dnnl::engine& eng = cpu_engine();
    OneThread one;
    auto make = [&](dnnl::memory::dim rows) {
      const auto c_md = f32_desc({rows, N});
      dnnl::post_ops ops;
      if (extras.add) ops.append_binary(dnnl::algorithm::binary_add, c_md);
      if (extras.relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);  // slope 0
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      // Threads run the same primitive at once: each brings its own
      // scratchpad (a primitive's own one would be shared between them).
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const auto a_md = a_desc(rows), b_md = b_desc();
      const auto pd = extras.bias
                          ? dnnl::matmul::primitive_desc({a_md, b_md, f32_desc({1, N}), c_md}, attr, eng)
                          : dnnl::matmul::primitive_desc({a_md, b_md, c_md}, attr, eng);
      scratch_bytes_ = std::max<std::size_t>(scratch_bytes_, pd.scratchpad_desc().get_size());
      return dnnl::matmul(pd);
    };
    scratch_bytes_ = 1;
    full_ = make(rows_);
    last_ = tail_ == rows_ ? full_ : make(tail_);
    slots_.clear();
  }

  // `bias` and `addend` are read only when built with them.
  void execute(const void* a, const void* b, void* c, const void* bias = nullptr,
               const void* addend = nullptr) {
    const int threads = int(
        std::min<std::int64_t>({blocks_, max_threads_, std::int64_t(std::max(1, omp_get_max_threads()))}));
    // Memory objects and a stream per thread, made before any thread runs:
    // a handle is rebound on every call.
    while (slots_.size() < std::size_t(threads)) slots_.push_back(make_slot());
    if (dense_a_) a = densify(static_cast<const float*>(a), threads);
    if (threads == 1) {
      for (std::int64_t i = 0; i < blocks_; ++i) run_block(slots_[0], i, a, b, c, bias, addend);
      return;
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::int64_t i = 0; i < blocks_; ++i)
      run_block(slots_[std::size_t(omp_get_thread_num())], i, a, b, c, bias, addend);
  }

 private:
  // Copies the transposed a (each product's) into dense_ in row-major
  // order, in tiles: a copy, the same bytes for any thread count.
  const float* densify(const float* a, int threads) {
    constexpr std::int64_t kTile = 32;
    const auto& t = transposed_a_;
    const std::int64_t products = std::int64_t(dense_.size()) / (t.rows * t.cols);
    const std::int64_t row_tiles = (t.rows + kTile - 1) / kTile, col_tiles = (t.cols + kTile - 1) / kTile;
    float* out = dense_.data();
    parallel::parallel_for(products * row_tiles * col_tiles, threads, [&](std::int64_t job) {
      const std::int64_t p = job / (row_tiles * col_tiles), tile = job % (row_tiles * col_tiles);
      const std::int64_t r0 = tile / col_tiles * kTile, c0 = tile % col_tiles * kTile;
      const float* src = a + p * t.batch_stride;
      float* dst = out + p * t.rows * t.cols;
      for (std::int64_t c = c0; c < std::min(t.cols, c0 + kTile); ++c)
        for (std::int64_t r = r0; r < std::min(t.rows, r0 + kTile); ++r)
          dst[r * t.cols + c] = src[r * t.row_stride + c * t.col_stride];
    });
    return out;
  }

  struct Args {
    dnnl::memory a, b, c, bias, addend, scratchpad;
    std::unordered_map<int, dnnl::memory> map;  // shares the objects above
  };
  // What one thread uses: the memory objects for each block height, and a
  // stream of its own (not thread_stream(): a thread_local made on an
  // OpenMP pool thread lives as long as the pool, i.e. past the process's
  // last reference to it, which LeakSanitizer cannot tell from a leak).
  struct Slot {
    Args full, last;
    dnnl::stream stream;
  };

  dnnl::memory::desc a_desc(dnnl::memory::dim rows) const {
    return f32_desc({rows, a_.cols}, {a_.row_stride, a_.col_stride});
  }
  dnnl::memory::desc b_desc() const { return f32_desc({b_.rows, b_.cols}, {b_.row_stride, b_.col_stride}); }

  Args make_args(dnnl::memory::dim rows) const {
    Args x;
    x.a = unbound_memory(a_desc(rows));
    x.b = unbound_memory(b_desc());
    x.c = unbound_memory(f32_desc({rows, n_}));
    x.bias = unbound_memory(f32_desc({1, n_}));
    x.addend = unbound_memory(f32_desc({rows, n_}));
    x.scratchpad = dnnl::memory(dnnl::memory::desc({dnnl::memory::dim(scratch_bytes_)},
                                                   dnnl::memory::data_type::u8, dnnl::memory::format_tag::x),
                                cpu_engine());
    x.map = {{DNNL_ARG_SRC, x.a},
             {DNNL_ARG_WEIGHTS, x.b},
             {DNNL_ARG_DST, x.c},
             {DNNL_ARG_SCRATCHPAD, x.scratchpad}};
    if (extras_.bias) x.map.emplace(DNNL_ARG_BIAS, x.bias);
    if (extras_.add) x.map.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, x.addend);
    return x;
  }
  Slot make_slot() const { return {make_args(rows_), make_args(tail_), dnnl::stream(cpu_engine())}; }

  void run_block(Slot& slot, std::int64_t i, const void* a, const void* b, void* c, const void* bias,
                 const void* addend) {
    OneThread one;
    const std::int64_t product = i / row_blocks_, block = i % row_blocks_;
    const bool last = block + 1 == row_blocks_;
    Args& x = last ? slot.last : slot.full;
    const auto row0 = block * rows_;
    const auto c_at = product * m_ * n_ + row0 * n_;
    bind(x.a, static_cast<const float*>(a) + product * a_.batch_stride + row0 * a_.row_stride);
    bind(x.b, static_cast<const float*>(b) + product * b_.batch_stride);
    bind(x.c, static_cast<float*>(c) + c_at);
    if (extras_.bias) bind(x.bias, bias);
    if (extras_.add) bind(x.addend, static_cast<const float*>(addend) + c_at);
    (last ? last_ : full_).execute(slot.stream, x.map);
    slot.stream.wait();
  }

  Operand a_{}, b_{};
  Extras extras_;
  bool dense_a_ = false;    // a is copied into dense_ before the blocks run
  Operand transposed_a_{};  // a as given, when it is
  std::vector<float> dense_;
  dnnl::memory::dim m_ = 0, n_ = 0, rows_ = 0, tail_ = 0;
  std::int64_t row_blocks_ = 0, blocks_ = 0, max_threads_ = 1;
  std::size_t scratch_bytes_ = 1;
  dnnl::matmul full_, last_;
  std::vector<Slot> slots_;
};

// Column sums of a row-major [rows, cols] matrix: out[j] = Σ_i m[i, j], each
// column added top to bottom, so the result does not depend on how many
// threads share the columns. (A bias gradient; oneDNN's reduction has only a
// reference kernel for this layout, and a matmul by a row of ones may split
// the rows between threads.)
inline void column_sums(const float* m, std::int64_t rows, std::int64_t cols, float* out) {
  constexpr std::int64_t kColsPerBlock = 256;
  const std::int64_t blocks = (cols + kColsPerBlock - 1) / kColsPerBlock;
  const int threads = int(
      std::min<std::int64_t>(blocks, parallel::threads_for_bytes(rows * cols * std::int64_t(sizeof(float)))));
  parallel::parallel_for(blocks, threads, [&](std::int64_t b) {
    const std::int64_t j0 = b * kColsPerBlock, j1 = std::min(cols, j0 + kColsPerBlock);
    for (std::int64_t j = j0; j < j1; ++j) out[j] = 0.0f;
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = j0; j < j1; ++j) out[j] += m[i * cols + j];
  });
}

}  // namespace keel::dnnl_util
