// mse and softmax_cross_entropy against naive double-precision references
// and finite differences; PyTorch parity is in loss_parity_test.cpp.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>

#include "op_harness.hpp"
#include "plugin_ops.hpp"
#include "raw_op.hpp"

using namespace optest;
using keel::DType;
using keel::TensorSpec;

namespace {

keel::Attrs reduction(const char* r) { return keel::Attrs({{"reduction", keel::AttrValue{std::string(r)}}}); }

// The reference accumulates in double and the op rounds once to f32.
constexpr double forward_rel_tol = 1e-6;
// mse's gradient is two or three f32 roundings of exact values; central
// differences of a quadratic are exact up to double rounding (~1e-12).
constexpr double mse_grad_tol = 1e-6;
// Cross entropy's gradient is computed in double and rounded once; central
// differences with h = 1e-4 err by about h^2/6 * |f'''| < 1e-8 here.
constexpr double ce_grad_tol = 1e-7;

Reference mse_reference(bool mean) {
  return [mean](const std::vector<Doubles>& in) {
    double s = 0.0;
    for (std::size_t i = 0; i < in[0].size(); ++i) s += (in[0][i] - in[1][i]) * (in[0][i] - in[1][i]);
    return Doubles{mean ? s / static_cast<double>(in[0].size()) : s};
  };
}

// in[0]: logits [rows, classes] flattened, in[1]: labels. No max shift: the
// values tested here are small enough for exp() in double.
Reference ce_reference(std::size_t classes, bool mean) {
  return [classes, mean](const std::vector<Doubles>& in) {
    const std::size_t rows = in[1].size();
    double total = 0.0;
    for (std::size_t r = 0; r < rows; ++r) {
      double z = 0.0;
      for (std::size_t c = 0; c < classes; ++c) z += std::exp(in[0][r * classes + c]);
      total += std::log(z) - in[0][r * classes + static_cast<std::size_t>(in[1][r])];
    }
    return Doubles{mean ? total / static_cast<double>(rows) : total};
  };
}

Floats random_labels(std::mt19937& rng, std::size_t n, int classes) {
  std::uniform_int_distribution<int> dist(0, classes - 1);
  Floats v(n);
  for (float& x : v) x = static_cast<float>(dist(rng));
  return v;
}

std::vector<TensorSpec> ce_specs(keel::Dim rows, keel::Dim classes, DType label_type = DType::i64) {
  return {{DType::f32, {rows, classes}}, {label_type, {rows}}};
}

}  // namespace

TEST_CASE("mse matches a naive sum of squared differences, as a mean or a sum") {
  std::mt19937 rng(11);
  for (const Shape& shape : {Shape{}, Shape{5}, Shape{3, 4}, Shape{2, 3, 4}}) {
    for (bool mean : {true, false}) {
      INFO(keel::shape_str(shape) << (mean ? " mean" : " sum"));
      Harness h(op_maker("mse"), reduction(mean ? "mean" : "sum"), {shape, shape});
      REQUIRE(h.output_shape().empty());
      const Floats p = random_floats(rng, count(shape), -3, 3), t = random_floats(rng, count(shape), -3, 3);
      check_close(h.forward({p, t})[0], mse_reference(mean)({to_double(p), to_double(t)}), forward_rel_tol, 0,
                  "loss");
    }
  }
}

TEST_CASE("mse gradients of prediction and target match finite differences") {
  std::mt19937 rng(12);
  const Shape shape{3, 4};
  for (bool mean : {true, false}) {
    INFO((mean ? "mean" : "sum"));
    Harness h(op_maker("mse"), reduction(mean ? "mean" : "sum"), {shape, shape});
    const Floats p = random_floats(rng, 12), t = random_floats(rng, 12), gy = {0.75f};
    const Floats loss = h.forward({p, t})[0];
    const auto grads = h.backward({p, t}, {loss}, {gy});
    const std::vector<Doubles> in = {to_double(p), to_double(t)};
    check_close(grads[0], numeric_grad(mse_reference(mean), in, 0, {0.75}), mse_grad_tol, mse_grad_tol,
                "grad_prediction");
    check_close(grads[1], numeric_grad(mse_reference(mean), in, 1, {0.75}), mse_grad_tol, mse_grad_tol,
                "grad_target");
  }
}

TEST_CASE("mse infers a scalar, keeps symbolic dims, and rejects mismatched shapes") {
  const keel::Dim batch = keel::symbolic_dim(0);
  const auto ok = infer_only(op_maker("mse"), {}, f32_specs({{batch, 3}, {batch, 3}}));
  REQUIRE(ok.status.ok());
  CHECK(ok.outputs == std::vector<TensorSpec>{{DType::f32, {}}});
  CHECK(infer_only(op_maker("mse"), {}, f32_specs({{2, 3}, {2, 4}})).status.message() ==
        "mse: prediction is [2, 3] but target is [2, 4]; they must have the same shape");
  CHECK(infer_only(op_maker("mse"), {}, f32_specs({{batch, 3}, {3}})).status.message() ==
        "mse: prediction is [?, 3] but target is [3]; they must have the same shape");
  CHECK(infer_only(op_maker("mse"), {}, {{DType::f32, {3}}, {DType::i32, {3}}}).status.message() ==
        "mse: target has dtype i32; only f32 is supported");
}

TEST_CASE("softmax_cross_entropy matches a naive log-softmax loss for i32 and i64 labels") {
  std::mt19937 rng(21);
  for (DType label_type : {DType::i32, DType::i64}) {
    for (bool mean : {true, false}) {
      INFO(keel::dtype_name(label_type) << (mean ? " mean" : " sum"));
      Harness h(op_maker("softmax_cross_entropy"), reduction(mean ? "mean" : "sum"),
                TypedInputs{ce_specs(6, 5, label_type)});
      REQUIRE(h.output_shape().empty());
      const Floats logits = random_floats(rng, 30, -4, 4), labels = random_labels(rng, 6, 5);
      check_close(h.forward({logits, labels})[0],
                  ce_reference(5, mean)({to_double(logits), to_double(labels)}), forward_rel_tol, 0, "loss");
    }
  }
}

TEST_CASE("softmax_cross_entropy logit gradients match finite differences") {
  std::mt19937 rng(22);
  for (bool mean : {true, false}) {
    INFO((mean ? "mean" : "sum"));
    Harness h(op_maker("softmax_cross_entropy"), reduction(mean ? "mean" : "sum"),
              TypedInputs{ce_specs(4, 3)});
    const Floats logits = random_floats(rng, 12, -2, 2), labels = random_labels(rng, 4, 3), gy = {1.5f};
    const Floats loss = h.forward({logits, labels})[0];
    const auto grads = h.backward({logits, labels}, {loss}, {gy}, {true, false});
    CHECK(grads[1].empty());
    check_close(grads[0],
                numeric_grad(ce_reference(3, mean), {to_double(logits), to_double(labels)}, 0, {1.5}),
                ce_grad_tol, ce_grad_tol, "grad_logits");
  }
}

TEST_CASE("softmax_cross_entropy stays finite and exact for logits of +-1e4") {
  // exp(1e4) overflows double but not long double (up to ~e^11356), so the
  // reference can afford the textbook formula with no max subtraction.
  const Floats logits = {1e4f, -1e4f, 0.0f, -1e4f, 1e4f, 1e4f, 1e4f, 9999.0f, -1e4f, 1e4f, -1e4f, -1e4f};
  const Floats labels = {0, 2, 1, 1};
  long double expected = 0;
  std::vector<long double> softmax(12);
  for (std::size_t r = 0; r < 4; ++r) {
    long double z = 0;
    for (std::size_t c = 0; c < 3; ++c) z += std::exp(static_cast<long double>(logits[r * 3 + c]));
    for (std::size_t c = 0; c < 3; ++c)
      softmax[r * 3 + c] = std::exp(static_cast<long double>(logits[r * 3 + c])) / z;
    expected += std::log(z) - logits[r * 3 + static_cast<std::size_t>(labels[r])];
  }
  Harness h(op_maker("softmax_cross_entropy"), {}, TypedInputs{ce_specs(4, 3)});
  const Floats loss = h.forward({logits, labels})[0];
  REQUIRE(std::isfinite(loss[0]));
  check_close(loss, {static_cast<double>(expected / 4)}, forward_rel_tol, 0, "loss");
  const auto grads = h.backward({logits, labels}, {loss}, {{1.0f}}, {true, false});
  Doubles want(12);
  for (std::size_t i = 0; i < 12; ++i)
    want[i] =
        static_cast<double>((softmax[i] - (i % 3 == static_cast<std::size_t>(labels[i / 3]) ? 1 : 0)) / 4);
  for (float g : grads[0]) REQUIRE(std::isfinite(g));
  check_close(grads[0], want, 1e-6, 1e-7, "grad_logits");
}

TEST_CASE(
    "softmax_cross_entropy rejects a negative or too large label at run time, naming the row and the value") {
  for (DType label_type : {DType::i32, DType::i64}) {
    RawOp op(op_maker("softmax_cross_entropy"), {}, ce_specs(3, 4, label_type));
    const Floats logits(12, 0.5f);
    const std::vector<std::int32_t> bad32 = {1, 4, 0}, neg32 = {0, 1, -1};
    const std::vector<std::int64_t> bad64 = {1, 4, 0}, neg64 = {0, 1, -1};
    const bool i32 = label_type == DType::i32;
    const void* bad = i32 ? static_cast<const void*>(bad32.data()) : bad64.data();
    const void* neg = i32 ? static_cast<const void*>(neg32.data()) : neg64.data();
    CHECK(op.forward({logits.data(), bad}).message() ==
          "softmax_cross_entropy: the label of row 1 is 4, outside the 4 classes [0, 4)");
    CHECK(op.forward({logits.data(), neg}).message() ==
          "softmax_cross_entropy: the label of row 2 is -1, outside the 4 classes [0, 4)");
    CHECK(op.backward({logits.data(), bad}).message() ==
          "softmax_cross_entropy: the label of row 1 is 4, outside the 4 classes [0, 4)");
  }
}

TEST_CASE("softmax_cross_entropy infer checks ranks, dtypes and the batch size") {
  const keel::Dim batch = keel::symbolic_dim(0);
  auto error = [](std::vector<TensorSpec> specs) {
    return infer_only(op_maker("softmax_cross_entropy"), {}, std::move(specs)).status.message();
  };
  const auto ok = infer_only(op_maker("softmax_cross_entropy"), {}, ce_specs(batch, 10, DType::i32));
  REQUIRE(ok.status.ok());
  CHECK(ok.outputs == std::vector<TensorSpec>{{DType::f32, {}}});
  CHECK(error({{DType::f32, {4, 3}}, {DType::f32, {4}}}) ==
        "softmax_cross_entropy: labels have dtype f32; they must be i32 or i64 class indices");
  CHECK(error({{DType::f32, {4}}, {DType::i64, {4}}}) ==
        "softmax_cross_entropy: logits must be [batch, classes], got [4]");
  CHECK(error({{DType::f32, {4, 3}}, {DType::i64, {4, 1}}}) ==
        "softmax_cross_entropy: labels must be [batch], got [4, 1]");
  CHECK(error({{DType::f32, {batch, 3}}, {DType::i64, {4}}}) ==
        "softmax_cross_entropy: logits are [?, 3] but labels are [4]; both need the same batch size");
  CHECK(error(ce_specs(4, 0)) == "softmax_cross_entropy: logits have no classes (shape [4, 0])");
}

TEST_CASE("loss ops prepared once stay correct for new data on every step") {
  std::mt19937 rng(31);
  Harness mse(op_maker("mse"), {}, {{2, 5}, {2, 5}});
  Harness ce(op_maker("softmax_cross_entropy"), {}, TypedInputs{ce_specs(3, 4, DType::i32)});
  for (int step = 0; step < 4; ++step) {
    INFO("step " << step);
    const Floats p = random_floats(rng, 10), t = random_floats(rng, 10);
    const std::vector<Doubles> mse_in = {to_double(p), to_double(t)};
    const Floats mse_loss = mse.forward({p, t})[0];
    check_close(mse_loss, mse_reference(true)(mse_in), forward_rel_tol, 0, "mse loss");
    check_close(mse.backward({p, t}, {mse_loss}, {{1.0f}})[0],
                numeric_grad(mse_reference(true), mse_in, 0, {1.0}), mse_grad_tol, mse_grad_tol,
                "mse grad_prediction");

    const Floats logits = random_floats(rng, 12, -3, 3), labels = random_labels(rng, 3, 4);
    const std::vector<Doubles> ce_in = {to_double(logits), to_double(labels)};
    const Floats ce_loss = ce.forward({logits, labels})[0];
    check_close(ce_loss, ce_reference(4, true)(ce_in), forward_rel_tol, 0, "cross entropy loss");
    check_close(ce.backward({logits, labels}, {ce_loss}, {{1.0f}}, {true, false})[0],
                numeric_grad(ce_reference(4, true), ce_in, 0, {1.0}), ce_grad_tol, ce_grad_tol,
                "grad_logits");
  }
}

TEST_CASE("loss ops prepared for inference run forward") {
  Harness mse(op_maker("mse"), {}, std::vector<Shape>{{3}, {3}}, false);
  check_close(mse.forward({{1, 2, 3}, {1, 0, 0}})[0], {(0.0 + 4 + 9) / 3}, forward_rel_tol, 0, "mse");
  Harness ce(op_maker("softmax_cross_entropy"), {}, TypedInputs{ce_specs(1, 2)}, false);
  check_close(ce.forward({{0, 0}, {1}})[0], {std::log(2.0)}, forward_rel_tol, 0, "cross entropy");
}
