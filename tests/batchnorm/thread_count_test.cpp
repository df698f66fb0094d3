// batchnorm and layernorm give the same bytes with 1 and 2 OpenMP threads
// at sizes where they split their work (tests/common/thread_check.hpp).
#include "norm_test_util.hpp"
#include "plugin_ops.hpp"
#include "thread_check.hpp"

using namespace optest;

TEST_CASE("batchnorm gives the same bytes with 1 and 2 threads, [N, C] and [N, C, H, W]") {
  for (const Shape& shape :
       {Shape{2048, 512}, Shape{8192, 96}, Shape{32, 32, 32, 32}, Shape{16, 3, 128, 128}}) {
    INFO("x " << keel::shape_str(shape));
    check_thread_independent(op_maker("batchnorm"), normtest::attrs(), {shape});
  }
}

TEST_CASE("layernorm gives the same bytes with 1 and 2 threads") {
  check_thread_independent(op_maker("layernorm"), normtest::attrs(), {{4096, 256}});
}
