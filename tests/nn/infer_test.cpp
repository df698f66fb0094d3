#include <catch2/catch.hpp>

#include "op_harness.hpp"
#include "plugin_ops.hpp"
#include "raw_op.hpp"

using namespace optest;

namespace {

const keel::Dim batch = keel::symbolic_dim(0);
const keel::Dim seq = keel::symbolic_dim(1);

Inference infer(const keel::OpMaker& factory, std::vector<keel::TensorSpec> inputs,
                const keel::Attrs& attrs = {}) {
  return infer_only(factory, attrs, std::move(inputs));
}

Shape inferred_shape(const keel::OpMaker& factory, const std::vector<Shape>& shapes) {
  const Inference r = infer(factory, f32_specs(shapes));
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  REQUIRE(r.outputs.size() == 1);
  CHECK(r.outputs[0].dtype == keel::DType::f32);
  return r.outputs[0].shape;
}

std::string error_of(const keel::OpMaker& factory, std::vector<keel::TensorSpec> inputs) {
  const Inference r = infer(factory, std::move(inputs));
  REQUIRE_FALSE(r.status.ok());
  return r.status.message();
}

std::string error_of(const keel::OpMaker& factory, const std::vector<Shape>& shapes) {
  return error_of(factory, f32_specs(shapes));
}

}  // namespace

TEST_CASE("binary ops carry symbolic dimensions through broadcasting") {
  for (auto f : {op_maker("add"), op_maker("mul")}) {
    CHECK(inferred_shape(f, {{batch, 3}, {3}}) == Shape{batch, 3});
    CHECK(inferred_shape(f, {{3}, {batch, 3}}) == Shape{batch, 3});
    CHECK(inferred_shape(f, {{batch, 1}, {1, 4}}) == Shape{batch, 4});
    CHECK(inferred_shape(f, {{1, batch}, {5, 1}}) == Shape{5, batch});
    CHECK(inferred_shape(f, {{batch, seq}, {batch, seq}}) == Shape{batch, seq});
    CHECK(inferred_shape(f, {{batch}, {}}) == Shape{batch});
  }
}

TEST_CASE("binary ops reject shapes that do not broadcast, naming both shapes") {
  CHECK(error_of(op_maker("add"), {{2, 3}, {4, 3}}) ==
        "add: a is [2, 3] and b is [4, 3]: dimensions 2 and 4 do not broadcast (axis 0 of the "
        "result)");
  CHECK(error_of(op_maker("mul"), {{5, 2, 3}, {4}}) ==
        "mul: a is [5, 2, 3] and b is [4]: dimensions 3 and 4 do not broadcast (axis 2 of the "
        "result)");
  // A symbol may stand for any size, so it only matches itself or 1.
  CHECK(error_of(op_maker("add"), {{batch, 3}, {seq, 3}}) ==
        "add: a is [?, 3] and b is [?, 3]: dimensions ? and ? do not broadcast (axis 0 of the "
        "result)");
  CHECK(error_of(op_maker("add"), {{batch}, {4}}) ==
        "add: a is [?] and b is [4]: dimensions ? and 4 do not broadcast (axis 0 of the result)");
}

TEST_CASE("every nn op rejects a dtype other than f32") {
  using keel::DType;
  CHECK(error_of(op_maker("add"), {{DType::i32, {2}}, {DType::f32, {2}}}) ==
        "add: a has dtype i32; only f32 is supported");
  CHECK(error_of(op_maker("mul"), {{DType::f32, {2}}, {DType::f64, {2}}}) ==
        "mul: b has dtype f64; only f32 is supported");
  CHECK(error_of(op_maker("scale"), {{DType::u8, {2}}}) == "scale: x has dtype u8; only f32 is supported");
  CHECK(error_of(op_maker("relu"), {{DType::boolean, {2}}}) ==
        "relu: x has dtype bool; only f32 is supported");
  CHECK(error_of(op_maker("matmul"), {{DType::f32, {2, 2}}, {DType::i64, {2, 2}}}) ==
        "matmul: b has dtype i64; only f32 is supported");
}

TEST_CASE("binary ops reject a result of more dimensions than oneDNN supports") {
  CHECK(error_of(op_maker("add"), {Shape(13, 1), {1}}) ==
        "add: the result has rank 13; at most 12 is supported");
}

TEST_CASE("unary ops keep the input's shape, symbols included") {
  for (auto f : {op_maker("scale"), op_maker("relu")}) {
    CHECK(inferred_shape(f, {{batch, 3, seq}}) == Shape{batch, 3, seq});
    CHECK(inferred_shape(f, {{}}) == Shape{});
  }
}

TEST_CASE("matmul infers [..., M, N] with symbolic leading dimensions") {
  CHECK(inferred_shape(op_maker("matmul"), {{batch, 64}, {64, 10}}) == Shape{batch, 10});
  CHECK(inferred_shape(op_maker("matmul"), {{batch, seq, 64}, {64, 10}}) == Shape{batch, seq, 10});
  CHECK(inferred_shape(op_maker("matmul"), {{batch, 4, 5}, {batch, 5, 2}}) == Shape{batch, 4, 2});
  CHECK(inferred_shape(op_maker("matmul"), {{3, seq}, {seq, batch}}) == Shape{3, batch});
}

TEST_CASE("matmul rejects low ranks, mismatched inner and batch dimensions") {
  CHECK(error_of(op_maker("matmul"), {{4, 3}, {5, 2}}) ==
        "matmul: a is [4, 3] and b is [5, 2]: inner dimensions 3 and 5 differ");
  CHECK(error_of(op_maker("matmul"), {{4, batch}, {seq, 2}}) ==
        "matmul: a is [4, ?] and b is [?, 2]: inner dimensions ? and ? differ");
  CHECK(error_of(op_maker("matmul"), {{3}, {3, 2}}) == "matmul: a must have rank 2 or more, got [3]");
  CHECK(error_of(op_maker("matmul"), {{2, 3}, {3}}) == "matmul: b must have rank 2 or more, got [3]");
  CHECK(error_of(op_maker("matmul"), {{2, 4, 3}, {5, 3, 2}}) ==
        "matmul: a is [2, 4, 3] and b is [5, 3, 2]: b must be [K, N] or have the same batch "
        "dimensions as a");
  CHECK(error_of(op_maker("matmul"), {{4, 3}, {2, 3, 2}}) ==
        "matmul: a is [4, 3] and b is [2, 3, 2]: b must be [K, N] or have the same batch "
        "dimensions as a");
}

TEST_CASE("infer is pure: repeated calls agree") {
  auto op = op_maker("matmul")({});
  const auto inputs = f32_specs({{batch, 8}, {8, 2}});
  for (int i = 0; i < 2; ++i) {
    keel::InferContext ctx{inputs, {}, {}};
    REQUIRE(op->infer(ctx).ok());
    CHECK(ctx.outputs.at(0).shape == Shape{batch, 2});
  }
}
