// sgd, adam and adamw against torch.optim (fixtures written by
// tests/parity/make_optimizer.py): the same gradients replayed through the
// op, in place as the engine calls it, with step = 0, 1, ...; param and
// state compared after every step.
#include "parity.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "plugin_ops.hpp"
#include "runtime/npy.hpp"
#include "update_driver.hpp"

using namespace opttest;
using optest::op_maker;
using optest::op_schema;

namespace {

// The op performs torch's f32 operations in torch's order, with a fused
// multiply-add exactly where torch's vectorized CPU kernels use one, so on
// a CPU with FMA it reproduces these fixtures (written on one) bit for
// bit. Where one side fuses and the other does not, each such operation
// differs by at most an ulp; over 5 steps that stays within a few ulps of
// param (rel 1e-6 ~ 8 ulps). abs 1e-7 covers values near zero, whose ulp
// is smaller than the rounding of the larger terms that cancelled in them.
constexpr double kRel = 1e-6, kAbs = 1e-7;

struct OpEntry {
  keel::OpMaker factory;
  keel::OpSchema schema;
  std::vector<std::string> states;
};

OpEntry op_for(const std::string& case_name) {
  using namespace keel::optimizer;
  const std::string op = case_name.substr(0, case_name.find('_'));
  if (op == "sgd") return {op_maker("sgd"), op_schema("sgd"), {"momentum_buffer"}};
  if (op == "adam") return {op_maker("adam"), op_schema("adam"), {"exp_avg", "exp_avg_sq"}};
  REQUIRE(op == "adamw");
  return {op_maker("adamw"), op_schema("adamw"), {"exp_avg", "exp_avg_sq"}};
}

// The values torch used, in double: attr_<name>.npy where the case sets one.
std::map<std::string, keel::AttrValue> fixture_attrs(const std::filesystem::path& dir,
                                                     const keel::OpSchema& s) {
  std::map<std::string, keel::AttrValue> values;
  for (const keel::AttrSpec& a : s.attrs) {
    const auto file = dir / ("attr_" + a.name + ".npy");
    if (!std::filesystem::exists(file)) continue;
    const keel::Tensor t = keel::read_npy(file);
    REQUIRE(t.dtype() == keel::DType::f64);
    const double v = t.as<double>()[0];
    if (a.type == keel::AttrType::Bool)
      values[a.name] = v != 0.0;
    else
      values[a.name] = v;
  }
  return values;
}

Floats slice(const Floats& all, std::size_t k, std::size_t n) {
  return Floats(all.begin() + std::ptrdiff_t(k * n), all.begin() + std::ptrdiff_t((k + 1) * n));
}

}  // namespace

TEST_CASE("sgd, adam and adamw match torch.optim step by step, in place, with clipping, l1 and decay") {
  const char* cases[] = {"sgd_plain",
                         "sgd_momentum_dampening",
                         "sgd_nesterov_weight_decay",
                         "sgd_regularized_clipped_scaled",
                         "adam_default",
                         "adam_weight_decay",
                         "adam_regularized_clipped_scaled",
                         "adamw_default",
                         "adamw_regularized_clipped_scaled"};
  for (const char* name : cases) {
    INFO("case " << name);
    const auto dir = parity::case_dir("optimizer", name);
    const OpEntry entry = op_for(name);
    const keel::Shape shape = parity::shape(dir, "param0");
    UpdateDriver op(entry.factory, attrs_for(entry.schema, fixture_attrs(dir, entry.schema)), shape);
    Floats param = parity::load(dir, "param0");
    const std::size_t n = param.size();
    const Floats grads = parity::load(dir, "grads"), hyper = parity::load(dir, "hyper");
    const Floats params = parity::load(dir, "params");
    const std::size_t steps = hyper.size() / 2;
    REQUIRE(steps == 5);
    REQUIRE(grads.size() == steps * n);
    for (std::size_t k = 0; k < steps; ++k) {
      INFO("step " << k);
      op.update(param, slice(grads, k, n), hyper[2 * k], hyper[2 * k + 1], k);
      const Floats want = slice(params, k, n);
      check_close(param, Doubles(want.begin(), want.end()), kRel, kAbs, "param");
      for (std::size_t s = 0; s < entry.states.size(); ++s) {
        const Floats state = slice(parity::load(dir, entry.states[s]), k, n);
        check_close(op.state()[s], Doubles(state.begin(), state.end()), kRel, kAbs, entry.states[s]);
      }
    }
  }
}
