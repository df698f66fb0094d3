// The loss family against PyTorch: fixtures written by
// tests/parity/make_loss.py (torch.nn.functional.mse_loss, cross_entropy,
// dropout, and (x - mean) / (std + epsilon)). Dropout's random mask is not
// compared (PyTorch uses another generator); dropout_test.cpp checks its
// properties instead, and only the deterministic cases are compared here.
#include <catch2/catch.hpp>

#include "op_harness.hpp"
#include "parity.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using keel::DType;

namespace {

keel::Attrs reduction(const char* r) { return keel::Attrs({{"reduction", keel::AttrValue{std::string(r)}}}); }

Doubles loaded(const std::filesystem::path& dir, const std::string& name) {
  return to_double(parity::load(dir, name));
}

// PyTorch sums the loss terms in f32 (up to 24 terms here: <= 24 * 2^-24
// ~ 1.5e-6 relative), the op in double; allow a few times that.
constexpr double loss_rel_tol = 5e-6;
// Elementwise gradients: a few f32 roundings on each side.
constexpr double grad_rel_tol = 1e-6;

}  // namespace

TEST_CASE("mse matches PyTorch's mse_loss and its gradients, as a mean and a sum") {
  for (const char* r : {"mean", "sum"}) {
    const auto dir = parity::case_dir("loss", std::string("mse_") + r);
    INFO(dir);
    const Shape shape = parity::shape(dir, "prediction");
    Harness h(op_maker("mse"), reduction(r), {shape, shape});
    const Floats p = parity::load(dir, "prediction"), t = parity::load(dir, "target");
    const Floats loss = h.forward({p, t})[0];
    check_close(loss, loaded(dir, "loss"), loss_rel_tol, 0, "loss");
    const auto grads = h.backward({p, t}, {loss}, {parity::load(dir, "grad_loss")});
    check_close(grads[0], loaded(dir, "grad_prediction"), grad_rel_tol, 1e-7, "grad_prediction");
    check_close(grads[1], loaded(dir, "grad_target"), grad_rel_tol, 1e-7, "grad_target");
  }
}

TEST_CASE("softmax_cross_entropy matches PyTorch's cross_entropy, including logits of +-1e4") {
  struct Case {
    const char* name;
    const char* reduction;
    DType labels;
  };
  for (const Case& c :
       {Case{"cross_entropy_mean_i64", "mean", DType::i64}, Case{"cross_entropy_sum_i32", "sum", DType::i32},
        Case{"cross_entropy_extreme", "mean", DType::i64}}) {
    const auto dir = parity::case_dir("loss", c.name);
    INFO(dir);
    const Shape shape = parity::shape(dir, "logits");
    Harness h(op_maker("softmax_cross_entropy"), reduction(c.reduction),
              TypedInputs{{{DType::f32, shape}, {c.labels, {shape[0]}}}});
    const Floats logits = parity::load(dir, "logits"), labels = parity::load(dir, "labels");
    const Floats loss = h.forward({logits, labels})[0];
    // PyTorch's log-softmax runs in f32: each term is off by a few ulps of
    // the logits' spread (|logits| <= ~10 in the random cases), the op's by
    // one rounding of a double.
    check_close(loss, loaded(dir, "loss"), 1e-5, 1e-6, "loss");
    const auto grads = h.backward({logits, labels}, {loss}, {parity::load(dir, "grad_loss")}, {true, false});
    // Softmax probabilities in f32 against double rounded once: absolute
    // errors of a few 2^-24 on values at most 1.
    check_close(grads[0], loaded(dir, "grad_logits"), 1e-5, 3e-7, "grad_logits");
  }
}

TEST_CASE("dropout matches PyTorch where dropout is deterministic: p = 0 in training, and inference") {
  const auto train_dir = parity::case_dir("loss", "dropout_p0_training");
  const Shape shape = parity::shape(train_dir, "x");
  Harness p0(op_maker("dropout"), keel::Attrs({{"p", keel::AttrValue{0.0}}}), {shape});
  p0.set_step(5, 99);
  const Floats x = parity::load(train_dir, "x");
  const Floats y = p0.forward({x})[0];
  check_close(y, loaded(train_dir, "y"), 0, 0, "y");
  check_close(p0.backward({x}, {y}, {parity::load(train_dir, "grad_y")})[0], loaded(train_dir, "grad_x"), 0,
              0, "grad_x");

  const auto eval_dir = parity::case_dir("loss", "dropout_inference");
  Harness eval(op_maker("dropout"), keel::Attrs({{"p", keel::AttrValue{0.5}}}),
               std::vector<Shape>{parity::shape(eval_dir, "x")}, false);
  check_close(eval.forward({parity::load(eval_dir, "x")})[0], loaded(eval_dir, "y"), 0, 0, "y");
}

TEST_CASE("standardize matches PyTorch's (x - mean) / (std + epsilon), from parameters or attributes") {
  for (bool from_attrs : {false, true}) {
    const auto dir = parity::case_dir("loss", from_attrs ? "standardize_attrs" : "standardize_params");
    INFO(dir);
    const double epsilon = parity::load(dir, "attr_epsilon").at(0);
    std::map<std::string, keel::AttrValue> values{{"epsilon", keel::AttrValue{epsilon}}};
    if (from_attrs) {
      values["mean"] = keel::AttrValue{loaded(dir, "attr_mean")};
      values["std"] = keel::AttrValue{loaded(dir, "attr_std")};
    }
    Harness h(op_maker("standardize"), keel::Attrs(values), {parity::shape(dir, "x")});
    if (!from_attrs) {
      h.params()[0] = parity::load(dir, "param_mean");
      h.params()[1] = parity::load(dir, "param_std");
    }
    const Floats x = parity::load(dir, "x");
    const Floats y = h.forward({x})[0];
    // The same two f32 operations as PyTorch, in the same order.
    check_close(y, loaded(dir, "y"), 1e-6, 0, "y");
    check_close(h.backward({x}, {y}, {parity::load(dir, "grad_y")})[0], loaded(dir, "grad_x"), 1e-6, 0,
                "grad_x");
  }
}
