// Where batch norm's tensors live while oneDNN works on them: inference
// only (training runs on batch_moments.hpp's fixed-order kernels).
//
// oneDNN 2.6 picks its batch-norm kernel by memory layout, and the plain
// layouts Keel uses (nc, nchw) select the generic `ncsp_bnorm:any`, which
// walks each channel through strided memory. Measured on this 2-core
// machine (OMP_NUM_THREADS=2, best of 3 runs of 5-300 repetitions, the
// machine shared with builds, so only the ranking is reliable), forward
// training / backward in ms, reorders to and from the layout included:
//
//   x                 plain (ncsp)   nhwc              nChw16c
//   [256, 64]         0.053 / 0.033  0.009 / 0.009 *   -
//   [4096, 1024]      660 / 720      0.97 / 1.85 *     22 / 36
//   [65536, 10]       12 / 1.2       1.9 / 12 (nspc)   0.88 / 1.05 *
//   [32, 64, 56, 56]  52 / 59        40 / 40           3.4 / 17 *
//   [64, 32, 28, 28]  1.65 / 2.3     1.04 / 1.52       0.46 / 0.92 *
//
// (nhwc for [N, C] is a view of the same bytes as [N, C, 1, 1]; every other
// entry but plain copies. nhwc runs `bnorm_jit:avx512_core` only when
// C % 16 == 0, `nspc_bnorm:any` otherwise; nChw16c always runs
// `bnorm_jit:avx512_core`.)
//
// So: [N, C] data (and [N, C, 1, 1]) with C a multiple of 16 is handed to
// oneDNN as an [N, C, 1, 1] nhwc view of the same bytes, no copy; the JIT
// kernel needs C % 16 == 0 for nhwc. Everything else is reordered into the
// blocked nChw16c layout (zero-padded channels), which the JIT kernel runs
// for any C, and reordered back. (The table predates the training kernels
// of batch_moments.hpp; inference is one element-wise pass with the same
// layouts.)
//
// Caveat: oneDNN 2.6's primitive cache ignores strides of size-1 dims, so an
// nchw [N, C, 1, 1] batch norm created earlier in the process would be
// handed back for the nhwc view. Keel itself never creates one.
#pragma once

#include <vector>

#include "common/keel_dnnl.hpp"

namespace keel::norm {

class BnLayout {
 public:
  // `nchw` is x's shape as [N, C, H, W]; [N, C] arrives as [N, C, 1, 1].
  void build(const dnnl::memory::dims& nchw);

  const dnnl::memory::desc& kernel_desc() const { return kernel_md_; }

  // x, in the kernel layout.
  const dnnl::memory& stage_work(dnnl::stream& s, const void* data);
  // Where the kernel writes its result: when copying, over the work buffer
  // (oneDNN batch norm runs in place); otherwise `out` itself, or a scratch
  // buffer when `out` is null (a gradient nobody needs).
  const dnnl::memory& result(void* out);
  // Copies the result back into `out` (when copying and `out` is not null).
  void unstage_result(dnnl::stream& s, void* out);

 private:
  bool copies_ = false;
  dnnl::memory::desc kernel_md_;
  dnnl::reorder to_kernel_, to_user_;
  dnnl::memory user_in_, user_out_;  // plain nchw, bound per call
  dnnl::memory work_, out_;          // kernel layout
  std::vector<float> work_buf_;      // copying: the work buffer
};

}  // namespace keel::norm
