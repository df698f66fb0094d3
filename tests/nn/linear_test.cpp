#include <oneapi/dnnl/dnnl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using namespace layertest;

namespace {

struct Case {
  Shape x;
  std::int64_t units;
  bool bias;
};

const std::vector<Case> cases = {
    {{4, 3}, 5, true},      // plain rows
    {{2, 3, 4}, 2, true},   // leading axes folded into rows
    {{3}, 4, true},         // a single vector
    {{1, 1}, 1, true},      //
    {{2, 5, 7}, 3, false},  // no bias term
    {{6, 32}, 9, true},     // the largest inner size tested
};

std::string describe(const Case& c) {
  return "x " + keel::shape_str(c.x) + ", units " + std::to_string(c.units) + (c.bias ? "" : ", no bias");
}

keel::Attrs linear_attrs(std::int64_t units, bool bias = true) {
  return attrs({{"units", int_attr(units)}, {"bias", AttrValue{bias}}});
}

// Inputs in order {x, weight, bias}: y[m, n] = sum_k x[m, k] w[n, k] + b[n].
Reference reference(const Case& c) {
  return [c](const std::vector<Doubles>& in) {
    const auto K = static_cast<std::size_t>(c.x.back());
    const auto N = static_cast<std::size_t>(c.units);
    const std::size_t M = count(c.x) / K;
    Doubles y(M * N);
    for (std::size_t m = 0; m < M; ++m)
      for (std::size_t n = 0; n < N; ++n) {
        double s = c.bias ? in[2][n] : 0.0;
        for (std::size_t k = 0; k < K; ++k) s += in[0][m * K + k] * in[1][n * K + k];
        y[m * N + n] = s;
      }
    return y;
  };
}

// Dot products of at most 33 f32 terms (bias included) of magnitude <= 1:
// the f32 accumulation error is below 33 * 2^-24 * 33 < 7e-5 in the worst
// case and far smaller for random signs, so 2e-5 is safe.
constexpr double tol = 2e-5;

struct Data {
  Floats x, w, b, gy;
};

Data linear_data(std::mt19937& rng, const Case& c) {
  const std::size_t K = static_cast<std::size_t>(c.x.back()), N = static_cast<std::size_t>(c.units);
  return {random_floats(rng, count(c.x)), random_floats(rng, N * K), random_floats(rng, N),
          random_floats(rng, count(c.x) / K * N)};
}

void set_params(Harness& h, const Data& d) {
  h.params()[0] = d.w;
  h.params()[1] = d.b;
}

}  // namespace

TEST_CASE("linear matches a naive loop, with and without bias, training and inference") {
  std::mt19937 rng(31);
  for (bool training : {true, false})
    for (const Case& c : cases) {
      INFO(describe(c) << (training ? ", training" : ", inference"));
      Harness h(op_maker("linear"), linear_attrs(c.units, c.bias), std::vector<Shape>{c.x}, training);
      Shape want = c.x;
      want.back() = c.units;
      REQUIRE(h.output_shape() == want);
      REQUIRE(h.param_count() == 2);
      CHECK(h.param_shape(0) == Shape{c.units, c.x.back()});
      CHECK(h.param_shape(1) == Shape{c.units});
      const Data d = linear_data(rng, c);
      set_params(h, d);
      const Floats y = h.forward({d.x})[0];
      check_close(y, reference(c)({to_double(d.x), to_double(d.w), to_double(d.b)}), tol, tol, "y");
    }
}

TEST_CASE("linear gradients of x, weight and bias match finite differences") {
  std::mt19937 rng(32);
  for (const Case& c : cases) {
    INFO(describe(c));
    Harness h(op_maker("linear"), linear_attrs(c.units, c.bias), {c.x});
    const Data d = linear_data(rng, c);
    set_params(h, d);
    const Floats y = h.forward({d.x})[0];
    const Floats gx = h.backward({d.x}, {y}, {d.gy})[0];
    const std::vector<Doubles> in = {to_double(d.x), to_double(d.w), to_double(d.b)};
    const Doubles gy = to_double(d.gy);
    check_close(gx, numeric_grad(reference(c), in, 0, gy), tol, tol, "grad_x");
    check_close(h.param_grads()[0], numeric_grad(reference(c), in, 1, gy), tol, tol, "grad_weight");
    // Without a bias term the reference ignores b, so this is all zeros.
    check_close(h.param_grads()[1], numeric_grad(reference(c), in, 2, gy), tol, tol, "grad_bias");
  }
}

TEST_CASE("linear computes parameter gradients when nobody needs grad_x") {
  const Case c{{3, 4}, 2, true};
  std::mt19937 rng(33);
  Harness h(op_maker("linear"), linear_attrs(c.units), {c.x});
  const Data d = linear_data(rng, c);
  set_params(h, d);
  const Floats y = h.forward({d.x})[0];
  const auto grads = h.backward({d.x}, {y}, {d.gy}, {false});
  CHECK(grads[0].empty());
  const std::vector<Doubles> in = {to_double(d.x), to_double(d.w), to_double(d.b)};
  check_close(h.param_grads()[0], numeric_grad(reference(c), in, 1, to_double(d.gy)), tol, tol,
              "grad_weight");
}

TEST_CASE("linear prepared once stays correct for new data and parameters on every step") {
  const Case c{{2, 3, 5}, 4, true};
  std::mt19937 rng(34);
  Harness h(op_maker("linear"), linear_attrs(c.units), {c.x});
  for (int step = 0; step < 5; ++step) {
    INFO("step " << step);
    const Data d = linear_data(rng, c);
    set_params(h, d);
    const std::vector<Doubles> in = {to_double(d.x), to_double(d.w), to_double(d.b)};
    const Floats y = h.forward({d.x})[0];
    check_close(y, reference(c)(in), tol, tol, "y");
    const Floats gx = h.backward({d.x}, {y}, {d.gy})[0];
    check_close(gx, numeric_grad(reference(c), in, 0, to_double(d.gy)), tol, tol, "grad_x");
    check_close(h.param_grads()[1], numeric_grad(reference(c), in, 2, to_double(d.gy)), tol, tol,
                "grad_bias");
  }
}

TEST_CASE("linear with no rows writes zero parameter gradients") {
  Harness h(op_maker("linear"), linear_attrs(3), {{0, 4}});
  REQUIRE(h.output_shape() == Shape{0, 3});
  const Floats y = h.forward({{}})[0];
  CHECK(y.empty());
  h.backward({{}}, {y}, {{}});
  CHECK(h.param_grads()[0] == Floats(12, 0.0f));
  CHECK(h.param_grads()[1] == Floats(3, 0.0f));
}

TEST_CASE("linear keeps symbolic leading sizes and sizes its parameters from the last axis") {
  const Inferred r = infer(op_maker("linear"), linear_attrs(16), f32_specs({{batch, seq, 8}}));
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.outputs[0].shape == Shape{batch, seq, 16});
  CHECK(r.param_shapes == std::vector<Shape>{{16, 8}, {16}});
}

TEST_CASE("linear rejects inputs whose weight shape cannot be known, and bad units") {
  CHECK(infer_error(op_maker("linear"), linear_attrs(4), Shape{3, batch}) ==
        "linear: the last axis of x must have a known size of at least 1, got [3, ?]");
  CHECK(infer_error(op_maker("linear"), linear_attrs(4), Shape{3, 0}) ==
        "linear: the last axis of x must have a known size of at least 1, got [3, 0]");
  CHECK(infer_error(op_maker("linear"), linear_attrs(4), Shape{}) ==
        "linear: x must have rank 1 or more, got a scalar");
  CHECK(infer_error(op_maker("linear"), linear_attrs(0), Shape{2, 3}) ==
        "linear: units must be at least 1, got 0");
  CHECK(infer_error(op_maker("linear"), linear_attrs(4), {{keel::DType::i32, {2, 3}}}) ==
        "linear: x has dtype i32; only f32 is supported");
}

namespace {

// Captures what oneDNN's verbose mode prints to stdout (fd 1) while `body`
// runs, so a test can see every primitive creation and execution.
template <class Body>
std::string capture_verbose(Body&& body) {
  char path[] = "/tmp/keel_linear_verboseXXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::fflush(stdout);
  const int saved = dup(1);
  REQUIRE(saved >= 0);
  REQUIRE(dup2(fd, 1) == 1);
  dnnl_set_verbose(2);
  body();
  std::fflush(stdout);
  dnnl_set_verbose(0);
  dup2(saved, 1);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path);
  return text;
}

std::size_t lines_with(const std::string& text, const std::string& needle) {
  std::size_t n = 0, begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    if (text.substr(begin, end - begin).find(needle) != std::string::npos) ++n;
    begin = end + 1;
  }
  return n;
}

}  // namespace

TEST_CASE("linear creates its oneDNN primitives in prepare only, never in forward or backward") {
  const Case c{{4, 6}, 3, true};
  std::mt19937 rng(35);
  const Data d = linear_data(rng, c);
  std::unique_ptr<Harness> h;
  const std::string prepare_log = capture_verbose([&] {
    h = std::make_unique<Harness>(op_maker("linear"), linear_attrs(c.units), std::vector<Shape>{c.x});
  });
  set_params(*h, d);
  Floats y;
  const std::string run_log = capture_verbose([&] {
    for (int step = 0; step < 5; ++step) {
      y = h->forward({d.x})[0];
      h->backward({d.x}, {y}, {d.gy});
    }
  });
  INFO("prepare:\n" << prepare_log << "\nsteps:\n" << run_log);
  // Forward, grad_x and grad_weight matmuls (the bias gradient is a column
  // sum of Keel's own, common/split_matmul.hpp).
  CHECK(lines_with(prepare_log, "create:") >= 3);
  CHECK(lines_with(run_log, "create:") == 0);
  // Each step executes the three primitives.
  CHECK(lines_with(run_log, "exec") >= 15);
  check_close(y, reference(c)({to_double(d.x), to_double(d.w), to_double(d.b)}), tol, tol, "y");
}
