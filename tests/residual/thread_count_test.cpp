// residual's projections give the same bytes with 1 and 2 OpenMP threads
// at sizes where they split their work (tests/common/thread_check.hpp).
#include "plugin_ops.hpp"
#include "thread_check.hpp"

using namespace optest;

TEST_CASE(
    "residual with a linear or a 1x1 convolution projection gives the same bytes with 1 and 2 threads") {
  const keel::Attrs project({{"projection", std::string("auto")}});
  check_thread_independent(op_maker("residual"), project, {{256, 512}, {256, 384}});
  check_thread_independent(op_maker("residual"), project, {{32, 32, 16, 16}, {32, 16, 16, 16}});
}
