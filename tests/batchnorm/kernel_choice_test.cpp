// The layout choices in batchnorm_layout.hpp exist to get oneDNN's JIT
// batch-norm kernel instead of the generic one (tens of times slower on
// [N, C] data). oneDNN names the kernel it runs in its verbose output, so
// these tests read that output around one forward.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <oneapi/dnnl/dnnl.hpp>
#include <sstream>

#include "norm_test_util.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

// Runs `body` with oneDNN's verbose mode on and returns what went to stdout.
template <class Body>
std::string onednn_verbose_output(Body&& body) {
  std::fflush(stdout);
  FILE* capture = std::tmpfile();
  REQUIRE(capture != nullptr);
  const int saved = dup(STDOUT_FILENO);
  REQUIRE(saved >= 0);
  REQUIRE(dup2(fileno(capture), STDOUT_FILENO) >= 0);
  REQUIRE(dnnl_set_verbose(1) == dnnl_success);
  body();
  REQUIRE(dnnl_set_verbose(0) == dnnl_success);
  std::fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  std::string text;
  std::rewind(capture);
  for (int ch = std::fgetc(capture); ch != EOF; ch = std::fgetc(capture)) text += char(ch);
  std::fclose(capture);
  return text;
}

// Implementation names of the executed primitives of one kind:
// onednn_verbose,exec,cpu,<primitive>,<implementation>,...
std::vector<std::string> implementations(const std::string& verbose, const std::string& primitive) {
  std::vector<std::string> names;
  std::istringstream lines(verbose);
  for (std::string line; std::getline(lines, line);) {
    const std::string prefix = "onednn_verbose,exec,cpu," + primitive + ",";
    if (line.rfind(prefix, 0) != 0) continue;
    const std::string rest = line.substr(prefix.size());
    names.push_back(rest.substr(0, rest.find(',')));
  }
  return names;
}

std::vector<std::string> batchnorm_kernels(const Shape& shape, bool training) {
  std::mt19937 rng(51);
  Harness h(op_maker("batchnorm"), normtest::attrs(), {shape}, training);
  h.params()[3] = Floats(std::size_t(shape[1]), 1.0f);
  const Floats x = random_floats(rng, count(shape));
  return implementations(onednn_verbose_output([&] { h.forward({x}); }), "batch_normalization");
}

}  // namespace

TEST_CASE("batchnorm inference on [256, 64] runs oneDNN's JIT kernel, not the generic ncsp one") {
  const auto names = batchnorm_kernels({256, 64}, false);
  REQUIRE(names.size() == 1);
  INFO("implementation " << names[0]);
  CHECK(names[0].find("ncsp") == std::string::npos);
  CHECK(names[0].find("jit") != std::string::npos);
}

// Training sums over the batch in Keel's fixed-order kernels
// (batch_moments.hpp), so that the thread count cannot change the result.
TEST_CASE("batchnorm training runs no oneDNN batch normalization") {
  for (const Shape& shape : {Shape{256, 64}, Shape{8, 16, 8, 8}}) {
    INFO("x " << keel::shape_str(shape));
    CHECK(batchnorm_kernels(shape, true).empty());
  }
}

TEST_CASE(
    "batchnorm inference on NCHW data and on channel counts off the 16-lane width runs the JIT kernel") {
  for (const Shape& shape : {Shape{8, 16, 8, 8}, Shape{4, 3, 5, 5}, Shape{32, 10}}) {
    INFO("x " << keel::shape_str(shape));
    const auto names = batchnorm_kernels(shape, false);
    REQUIRE(names.size() == 1);
    INFO("implementation " << names[0]);
    CHECK(names[0].find("ncsp") == std::string::npos);
    CHECK(names[0].find("jit") != std::string::npos);
  }
}
