// Results that do not depend on the OpenMP thread count (docs/performance.md,
// "Results and the thread count"): an op made, prepared and run with 1
// thread and one made, prepared and run with 2 must give the same bytes,
// forward and backward. The conformance kit checks this on each op's
// examples, which are small enough that every op runs them on one thread;
// these checks use sizes at which the ops split their work (over 2 MiB per
// tensor: docs/performance.md, "Threads per op").
#pragma once

#include <omp.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "op_harness.hpp"

namespace optest {

// libgomp allocates a thread's count on its first set and frees it when the
// thread ends; the main thread's is only reachable from its TLS, which
// LeakSanitizer may not scan (scripts/test --sanitize address).
inline void set_openmp_threads(int n) {
#if defined(__SANITIZE_ADDRESS__)
  __lsan::ScopedDisabler libgomp_thread_state;
#endif
  omp_set_num_threads(n);
}

struct ThreadRun {
  std::vector<Floats> out, grad_in, grad_params, params_after;
};

// Forward (training) and backward of the op on `inputs` with `params` and
// upstream gradients `grad_out`, everything made under `threads` threads.
inline ThreadRun run_with_threads(int threads, const keel::OpMaker& factory, const keel::Attrs& attrs,
                                  const std::vector<Shape>& shapes, const std::vector<Floats>& inputs,
                                  const std::vector<Floats>& params, const std::vector<Floats>& grad_out) {
  const int saved = omp_get_max_threads();
  set_openmp_threads(threads);
  ThreadRun r;
  {
    Harness h(factory, attrs, shapes);
    h.params() = params;
    r.out = h.forward(inputs);
    r.grad_in = h.backward(inputs, r.out, grad_out);
    r.grad_params = h.param_grads();
    r.params_after = h.params();
  }
  set_openmp_threads(saved);
  return r;
}

inline bool same_bits(const std::vector<Floats>& a, const std::vector<Floats>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() ||
        (!a[i].empty() && std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0))
      return false;  // (an empty vector's data() may be null, which memcmp may not be given)
  return true;
}

// Random inputs, parameters and upstream gradients; the op at 1 and at 2
// threads must agree bit for bit in its outputs, gradients and updated
// parameters (running statistics).
inline void check_thread_independent(const keel::OpMaker& factory, const keel::Attrs& attrs,
                                     const std::vector<Shape>& shapes, unsigned seed = 1) {
  std::mt19937 rng(seed);
  Harness probe(factory, attrs, shapes);
  std::vector<Floats> inputs, params, grad_out;
  for (const Shape& s : shapes) inputs.push_back(random_floats(rng, count(s)));
  for (std::size_t i = 0; i < probe.param_count(); ++i)
    params.push_back(random_floats(rng, count(probe.param_shape(i)), 0.5f, 1.5f));
  for (std::size_t i = 0; i < probe.instance().outputs.size(); ++i)
    grad_out.push_back(random_floats(rng, count(probe.output_shape(i))));
  const ThreadRun one = run_with_threads(1, factory, attrs, shapes, inputs, params, grad_out);
  const ThreadRun two = run_with_threads(2, factory, attrs, shapes, inputs, params, grad_out);
  CHECK(same_bits(one.out, two.out));
  CHECK(same_bits(one.grad_in, two.grad_in));
  CHECK(same_bits(one.grad_params, two.grad_params));
  CHECK(same_bits(one.params_after, two.params_after));
}

}  // namespace optest
