// The nn ops give the same bytes with 1 and 2 OpenMP threads at sizes where
// they split their work between threads (tests/common/thread_check.hpp).
#include "layer_test_util.hpp"
#include "plugin_ops.hpp"
#include "thread_check.hpp"

using namespace optest;
using layertest::attrs;
using V = std::vector<std::int64_t>;

TEST_CASE("linear gives the same bytes with 1 and 2 threads") {
  for (const char* act : {"none", "relu"}) {
    INFO("activation " << act);
    check_thread_independent(op_maker("linear"),
                             attrs({{"units", std::int64_t(256)}, {"activation", std::string(act)}}),
                             {{512, 384}});
  }
  // Few rows, many inputs: the shape where a GEMM would split the sum.
  check_thread_independent(op_maker("linear"), attrs({{"units", std::int64_t(10)}}), {{64, 4096}});
}

TEST_CASE("matmul gives the same bytes with 1 and 2 threads, shared and batched") {
  check_thread_independent(op_maker("matmul"), attrs({}), {{8, 128, 256}, {256, 256}});
  check_thread_independent(op_maker("matmul"), attrs({}), {{8, 128, 256}, {8, 256, 256}});
}

TEST_CASE("conv2d and conv_transpose2d give the same bytes with 1 and 2 threads") {
  const keel::Attrs conv({{"filters", std::int64_t(32)},
                          {"kernel", V{3}},
                          {"stride", V{1}},
                          {"padding", V{1}},
                          {"dilation", V{1}},
                          {"bias", true}});
  check_thread_independent(op_maker("conv2d"), conv, {{16, 16, 32, 32}});
  const keel::Attrs deconv({{"filters", std::int64_t(16)},
                            {"kernel", V{4}},
                            {"stride", V{2}},
                            {"padding", V{1}},
                            {"output_padding", V{0}},
                            {"bias", true}});
  check_thread_independent(op_maker("conv_transpose2d"), deconv, {{32, 32, 16, 16}});
}

TEST_CASE("broadcast add, softmax, pooling and the loss give the same bytes with 1 and 2 threads") {
  check_thread_independent(op_maker("add"), attrs({}), {{1024, 512}, {512}});
  check_thread_independent(op_maker("softmax"), attrs({}), {{1024, 512}});
  check_thread_independent(op_maker("log_softmax"), attrs({}), {{1024, 512}});
  check_thread_independent(op_maker("global_avg_pool"), attrs({}), {{16, 64, 32, 32}});
  check_thread_independent(op_maker("max_pool2d"), attrs({{"kernel", V{2}}}), {{16, 64, 32, 32}});
  check_thread_independent(op_maker("avg_pool2d"), attrs({{"kernel", V{3}}, {"stride", V{2}}}),
                           {{16, 64, 32, 32}});
  check_thread_independent(op_maker("mse"), attrs({}), {{1024, 512}, {1024, 512}});
}
