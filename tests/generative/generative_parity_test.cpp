// The generative ops against PyTorch and NumPy (fixtures written by
// tests/parity/make_generative.py). The script draws eps and the noise
// values with its own NumPy implementation of the counter-based generator,
// so these cases check the draws themselves, and PyTorch's autograd, given
// that eps, checks gaussian_sample's backward.
#include <catch2/catch.hpp>
#include <cmath>

#include "op_harness.hpp"
#include "parity.hpp"
#include "plugin_ops.hpp"

using namespace optest;

namespace {

Doubles fixture(const std::filesystem::path& dir, const std::string& name) {
  return to_double(parity::load(dir, name));
}

std::uint64_t int_attr(const std::filesystem::path& dir, const std::string& name) {
  return static_cast<std::uint64_t>(parity::load(dir, "attr_" + name)[0]);  // small: exact in f32
}

}  // namespace

TEST_CASE("gaussian_sample draws the eps of the reference generator, and its gradients match PyTorch's") {
  for (const char* name : {"gaussian_rows", "gaussian_images"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("generative", name);
    const Shape shape = parity::shape(dir, "mean");
    Harness h(op_maker("gaussian_sample"), keel::Attrs{}, {shape, shape});
    h.set_step(int_attr(dir, "step"), int_attr(dir, "seed"));
    const Floats mean = parity::load(dir, "mean"), logvar = parity::load(dir, "logvar");
    const Floats z = h.forward({mean, logvar})[0];
    // NumPy's and glibc's log, sqrt and cos agree to an ulp or two of the
    // double eps, rounded to f32 alike; exp(logvar / 2) in f32 on both sides
    // adds an ulp. 1e-6 relative bounds both with margin.
    check_close(z, fixture(dir, "z"), 1e-6, 1e-6, "z");
    // The eps the op drew, recovered from its output, is the reference's.
    Floats eps(z.size());
    for (std::size_t i = 0; i < z.size(); ++i)
      eps[i] = static_cast<float>((double(z[i]) - mean[i]) / std::exp(0.5 * double(logvar[i])));
    check_close(eps, fixture(dir, "eps"), 1e-5, 1e-5, "recovered eps");
    const auto grads = h.backward({mean, logvar}, {z}, {parity::load(dir, "grad_y")});
    check_close(grads[0], fixture(dir, "grad_mean"), 0, 0, "grad_mean");
    check_close(grads[1], fixture(dir, "grad_logvar"), 1e-6, 1e-7, "grad_logvar");
  }
}

TEST_CASE("kl_normal matches PyTorch's closed form, value and gradients") {
  for (const char* name : {"kl_rows", "kl_images"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("generative", name);
    const Shape shape = parity::shape(dir, "mean");
    Harness h(op_maker("kl_normal"), keel::Attrs{}, {shape, shape});
    const Floats mean = parity::load(dir, "mean"), logvar = parity::load(dir, "logvar");
    const Floats loss = h.forward({mean, logvar})[0];
    // Both sum in double: the only difference is the final f32 rounding.
    check_close(loss, fixture(dir, "loss"), 1e-6, 0, "loss");
    const auto grads = h.backward({mean, logvar}, {loss}, {parity::load(dir, "grad_y")});
    check_close(grads[0], fixture(dir, "grad_mean"), 1e-6, 1e-9, "grad_mean");
    check_close(grads[1], fixture(dir, "grad_logvar"), 1e-6, 1e-9, "grad_logvar");
  }
}

TEST_CASE("noise and noise_like draw the values of the reference generator") {
  for (const char* name : {"noise_normal", "noise_normal_scaled", "noise_uniform"}) {
    INFO("case " << name);
    const auto dir = parity::case_dir("generative", name);
    const Shape z_shape = parity::shape(dir, "z");
    std::vector<std::int64_t> row;
    for (float d : parity::load(dir, "attr_shape")) row.push_back(std::int64_t(d));
    std::map<std::string, keel::AttrValue> attrs{{"shape", row}};
    if (parity::has(dir, "attr_low")) {
      attrs["distribution"] = std::string("uniform");
      attrs["low"] = double(parity::load(dir, "attr_low")[0]);
      attrs["high"] = double(parity::load(dir, "attr_high")[0]);
    } else {
      attrs["mean"] = double(parity::load(dir, "attr_mean")[0]);
      attrs["std"] = double(parity::load(dir, "attr_std")[0]);
    }
    const Doubles want = fixture(dir, "z");

    auto counted = attrs;
    counted["count"] = std::int64_t(z_shape[0]);
    Harness noise(op_maker("noise"), keel::Attrs(counted), std::vector<Shape>{});
    REQUIRE(noise.output_shape() == z_shape);
    noise.set_step(int_attr(dir, "step"), int_attr(dir, "seed"));
    check_close(noise.forward({})[0], want, 1e-6, 1e-6, "noise");

    Harness like(op_maker("noise_like"), keel::Attrs(attrs),
                 TypedInputs{{{keel::DType::i64, {z_shape[0], 3}}}});
    REQUIRE(like.output_shape() == z_shape);
    like.set_step(int_attr(dir, "step"), int_attr(dir, "seed"));
    check_close(like.forward({Floats(count({z_shape[0], 3}), 0.0f)})[0], want, 1e-6, 1e-6, "noise_like");
  }
}
