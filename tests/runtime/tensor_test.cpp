#include "runtime/tensor.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <stdexcept>

using keel::DType;
using keel::Tensor;

namespace {
bool all_zero(const Tensor& t) {
  const auto* p = static_cast<const unsigned char*>(t.data());
  for (std::size_t i = 0; i < t.nbytes(); ++i)
    if (p[i] != 0) return false;
  return true;
}
}  // namespace

TEST_CASE("tensor data is 64-byte aligned for every dtype and size, empty ones included") {
  for (DType dtype : {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::boolean})
    for (const keel::Shape& shape : {keel::Shape{}, keel::Shape{0}, keel::Shape{1}, keel::Shape{3},
                                     keel::Shape{7, 0, 2}, keel::Shape{33, 17}}) {
      const Tensor t(dtype, shape);
      REQUIRE(t.data() != nullptr);
      CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
      CHECK(t.nbytes() == static_cast<std::size_t>(keel::numel(shape)) * keel::dtype_size(dtype));
    }
}

TEST_CASE("a new tensor is zero-filled even where freed memory was dirty") {
  for (int round = 0; round < 4; ++round) {
    Tensor dirty(DType::f64, {129});
    std::memset(dirty.data(), 0xAB, dirty.nbytes());
  }
  const Tensor t(DType::f64, {129});
  CHECK(all_zero(t));
}

TEST_CASE("tensor copies share data while clones are independent") {
  Tensor a(DType::i32, {2, 3});
  for (int i = 0; i < 6; ++i) a.as<std::int32_t>()[i] = i + 1;
  Tensor shared = a;
  CHECK(shared.data() == a.data());

  Tensor c = a.clone();
  CHECK(c.data() != a.data());
  CHECK(c.dtype() == DType::i32);
  CHECK(c.shape() == keel::Shape{2, 3});
  CHECK(std::memcmp(c.data(), a.data(), a.nbytes()) == 0);
  c.as<std::int32_t>()[4] = -99;
  CHECK(a.as<std::int32_t>()[4] == 5);
  a.as<std::int32_t>()[0] = 42;
  CHECK(c.as<std::int32_t>()[0] == 1);
  CHECK(shared.as<std::int32_t>()[0] == 42);
}

TEST_CASE("tensor clone of an element-less tensor keeps its shape") {
  const Tensor t(DType::u8, {0, 5});
  const Tensor c = t.clone();
  CHECK(c.shape() == keel::Shape{0, 5});
  CHECK(c.numel() == 0);
  CHECK_FALSE(c.empty());
}

TEST_CASE("tensor refuses a symbolic shape and a default tensor holds no buffer") {
  CHECK_THROWS_AS(Tensor(DType::f32, {keel::symbolic_dim(0), 3}), std::logic_error);
  CHECK(Tensor().empty());
}

TEST_CASE("checked_nbytes refuses a shape whose byte count overflows on the way, even if a dimension is 0") {
  constexpr keel::Dim k2to62 = keel::Dim{1} << 62;
  CHECK(keel::checked_nbytes(DType::f32, keel::Shape{3, 4}) == 48u);
  CHECK(keel::checked_nbytes(DType::f32, keel::Shape{}) == 4u);
  CHECK(keel::checked_nbytes(DType::f32, keel::Shape{0, k2to62}) == 0u);  // 0 first: never large
  CHECK_FALSE(keel::checked_nbytes(DType::f32, keel::Shape{k2to62, 0}));  // 4 * 2^62 overflows first
  CHECK_FALSE(keel::checked_nbytes(DType::u8, keel::Shape{k2to62, 2, 0}));
  CHECK(keel::checked_nbytes(DType::u8, keel::Shape{k2to62, 0}) == 0u);  // 2^62 bytes fit, then 0
  CHECK_FALSE(keel::checked_nbytes(DType::f32, keel::Shape{-1}));
  // What passes is what the constructor allocates without complaint.
  CHECK(Tensor(DType::f32, keel::Shape{0, k2to62}).nbytes() == 0u);
  CHECK_THROWS_AS(Tensor(DType::f32, keel::Shape{k2to62, 0}), std::bad_alloc);
}

TEST_CASE("shape_for_message shows a long shape by its ends and its rank") {
  CHECK(keel::shape_for_message(keel::Shape{2, 3}) == "[2, 3]");
  CHECK(keel::shape_for_message(keel::Shape(16, 1)) == keel::shape_str(keel::Shape(16, 1)));
  keel::Shape wide(200000, 1);
  wide.back() = 7;
  CHECK(keel::shape_for_message(wide) == "[1, 1, 1, 1, 1, 1, 1, 1, ..., 1, 7] (200000 dimensions)");
}
