#include "runtime/dataset.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "base/error.hpp"
#include "error_checks.hpp"
#include "files.hpp"
#include "runtime/npy.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using keel::ColumnBinding;
using keel::DType;
using keel::test::TempDir;
using keel::test::write_file;

namespace {

const fs::path kData = fs::path(KEEL_SOURCE_DIR) / "graphs/data";
const fs::path kDigits = kData / "digits.csv";
const fs::path kDiabetesX = kData / "diabetes_data_raw.csv";
const fs::path kDiabetesY = kData / "diabetes_target.csv";

std::vector<std::size_t> all_rows(std::size_t n) {
  std::vector<std::size_t> rows(n);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  return rows;
}

std::string error_of(const std::vector<fs::path>& files, const std::vector<ColumnBinding>& bindings) {
  return keel::test::usage_error_of([&] { keel::Dataset::from_csv(files, bindings); });
}

const std::vector<ColumnBinding> kDigitsBindings = {
    {"pixels", DType::f32, 0, 64, false},
    {"label", DType::i64, 64, 1, true},
};

}  // namespace

TEST_CASE("dataset loads the shipped digits data with pixels and labels") {
  const auto start = std::chrono::steady_clock::now();
  const keel::Dataset ds = keel::Dataset::from_csv({kDigits}, kDigitsBindings);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Generous, to catch quadratic behaviour on a loaded machine, not to benchmark.
  CHECK(seconds < 2.0);

  CHECK(ds.rows() == 1797);
  CHECK(ds.inputs() == std::vector<std::string>{"pixels", "label"});
  const std::vector<keel::Tensor> first_last = ds.gather({0, 1796});
  REQUIRE(first_last.size() == 2);
  const keel::Tensor& pixels = first_last[0];
  const keel::Tensor& labels = first_last[1];
  CHECK(pixels.dtype() == DType::f32);
  CHECK(pixels.shape() == keel::Shape{2, 64});
  CHECK(labels.dtype() == DType::i64);
  CHECK(labels.shape() == keel::Shape{2});
  // Values read off the file (and by np.loadtxt).
  const std::vector<float> head(pixels.as<float>(), pixels.as<float>() + 8);
  CHECK(head == std::vector<float>{0, 0, 5, 13, 9, 1, 0, 0});
  const std::vector<float> tail(pixels.as<float>() + 64 + 57, pixels.as<float>() + 128);
  CHECK(tail == std::vector<float>{1, 8, 12, 14, 12, 1, 0});
  CHECK(labels.as<std::int64_t>()[0] == 0);
  CHECK(labels.as<std::int64_t>()[1] == 8);

  const std::vector<keel::Tensor> all = ds.gather(all_rows(ds.rows()));
  std::vector<int> per_class(10, 0);
  for (std::size_t r = 0; r < ds.rows(); ++r) {
    const std::int64_t label = all[1].as<std::int64_t>()[r];
    REQUIRE(label >= 0);
    REQUIRE(label <= 9);
    ++per_class[static_cast<std::size_t>(label)];
  }
  // np.bincount of the label column.
  CHECK(per_class == std::vector<int>{178, 182, 177, 183, 181, 182, 181, 179, 174, 180});
  double sum = 0;
  for (std::int64_t i = 0; i < all[0].numel(); ++i) sum += all[0].as<float>()[i];
  CHECK(sum == 561718.0);
}

TEST_CASE("dataset puts diabetes data and target side by side as 11 columns") {
  const keel::Dataset ds = keel::Dataset::from_csv(
      {kDiabetesX, kDiabetesY},
      {{"x", DType::f64, 0, 10, false}, {"y", DType::f32, 10, 1, true}, {"across", DType::f64, 8, 3, false}});
  CHECK(ds.rows() == 442);
  const std::vector<keel::Tensor> b = ds.gather({0, 441});
  CHECK(b[0].shape() == keel::Shape{2, 10});
  const std::vector<double> row0(b[0].as<double>(), b[0].as<double>() + 10);
  CHECK(row0 == std::vector<double>{59, 2, 32.1, 101.0, 157, 93.2, 38.0, 4.0, 4.8598, 87});
  CHECK(b[0].as<double>()[10] == 36);
  CHECK(b[1].shape() == keel::Shape{2});
  CHECK(b[1].as<float>()[0] == 151.0f);
  CHECK(b[1].as<float>()[1] == 57.0f);
  CHECK(b[2].shape() == keel::Shape{2, 3});
  CHECK(std::vector<double>(b[2].as<double>(), b[2].as<double>() + 3) ==
        std::vector<double>{4.8598, 87, 151});
}

TEST_CASE("dataset reports a non-integer value for an integer input at its FILE:LINE:COL") {
  CHECK_THAT(error_of({kDiabetesX}, {{"bmi", DType::i32, 2, 1, true}}),
             Equals(kDiabetesX.string() + ":1:6: '32.1' is not an integer (input 'bmi' is i32)"));
  TempDir dir;
  write_file(dir / "a.csv", "1,2\n300,1\n");
  CHECK_THAT(
      error_of({dir / "a.csv"}, {{"v", DType::u8, 0, 1, true}}),
      Equals((dir / "a.csv").string() + ":2:1: '300' is outside the range of u8 (0..255) (input 'v' is u8)"));
  CHECK_THAT(error_of({dir / "a.csv"}, {{"flag", DType::boolean, 1, 1, true}}),
             Equals((dir / "a.csv").string() + ":1:3: '2' is not 0 or 1 (input 'flag' is bool)"));
  write_file(dir / "b.csv", "3000000000 1e300\n");
  CHECK_THAT(error_of({dir / "b.csv"}, {{"i", DType::i32, 0, 1, true}}),
             Contains("b.csv:1:1: '3000000000' is outside the range of i32"));
  CHECK_THAT(error_of({dir / "b.csv"}, {{"f", DType::f32, 1, 1, true}}),
             Contains("b.csv:1:12: '1e300' is outside the range of f32"));
  // A second file's columns count on from the first's.
  CHECK_THAT(
      error_of({dir / "a.csv", dir / "a.csv"},
               {{"v", DType::i64, 0, 4, false}, {"w", DType::u8, 2, 1, true}}),
      Equals((dir / "a.csv").string() + ":2:1: '300' is outside the range of u8 (0..255) (input 'w' is u8)"));
}

TEST_CASE("dataset converts values to each binding's dtype") {
  TempDir dir;
  write_file(dir / "t.csv", "1 0 -7 255 0.1\n0 1 2147483647 0 -2.5\n");
  const keel::Dataset ds = keel::Dataset::from_csv({dir / "t.csv"}, {{"b", DType::boolean, 0, 2, false},
                                                                     {"i", DType::i32, 2, 1, true},
                                                                     {"u", DType::u8, 3, 1, true},
                                                                     {"f", DType::f32, 4, 1, true},
                                                                     {"d", DType::f64, 4, 1, true}});
  const std::vector<keel::Tensor> t = ds.gather({1, 0, 1});
  CHECK(std::vector<std::uint8_t>(t[0].as<std::uint8_t>(), t[0].as<std::uint8_t>() + 6) ==
        std::vector<std::uint8_t>{0, 1, 1, 0, 0, 1});
  CHECK(std::vector<std::int32_t>(t[1].as<std::int32_t>(), t[1].as<std::int32_t>() + 3) ==
        std::vector<std::int32_t>{2147483647, -7, 2147483647});
  CHECK(std::vector<std::uint8_t>(t[2].as<std::uint8_t>(), t[2].as<std::uint8_t>() + 3) ==
        std::vector<std::uint8_t>{0, 255, 0});
  CHECK(t[3].as<float>()[1] == 0.1f);
  CHECK(t[4].as<double>()[1] == 0.1);
  CHECK(t[4].as<double>()[0] == -2.5);
  CHECK(ds.gather({}).at(0).shape() == keel::Shape{0, 2});
}

TEST_CASE("dataset rejects bad bindings and mismatched files") {
  const std::string digits = kDigits.string();
  CHECK_THAT(error_of({kDigits, kDiabetesY}, kDigitsBindings),
             Equals(kDiabetesY.string() + ": has 442 rows, but " + digits + " has 1797"));
  CHECK_THAT(error_of({kDigits}, {{"pixels", DType::f32, 0, 66, false}}),
             Equals("input 'pixels' is bound to columns 0..65, but the data has 65 columns (0..64)"));
  CHECK_THAT(error_of({kDigits}, {{"label", DType::i64, 65, 1, true}}),
             Equals("input 'label' is bound to column 65, but the data has 65 columns (0..64)"));
  CHECK_THAT(error_of({kDigits}, {{"a", DType::f32, 0, 1, true}, {"a", DType::f32, 1, 1, true}}),
             Equals("input 'a' is bound to data twice"));
  CHECK_THAT(error_of({kDigits}, {{"a", DType::f32, -1, 1, false}}), Contains("first column -1 is negative"));
  CHECK_THAT(error_of({kDigits}, {{"a", DType::f32, 0, 0, false}}),
             Contains("column count 0 must be at least 1"));
  CHECK_THAT(error_of({kDigits}, {{"a", DType::f32, 0, 2, true}}), Contains("takes one column, not 2"));
  CHECK_THAT(error_of({kDigits}, {}), Equals("no inputs are bound to data columns"));
  CHECK_THAT(error_of({}, kDigitsBindings), Equals("no CSV files given"));

  TempDir dir;
  write_file(dir / "ragged.csv", "1,2,3\n4,5,6\n7,8\n");
  CHECK_THAT(error_of({dir / "ragged.csv"}, {{"a", DType::f32, 0, 1, true}}),
             Equals((dir / "ragged.csv").string() + ":3:4: expected 3 fields (as on line 1), found 2"));
  CHECK_THAT(error_of({dir / "missing.csv"}, {{"a", DType::f32, 0, 1, true}}),
             Contains("missing.csv: cannot read"));

  const keel::Dataset ds = keel::Dataset::from_csv({kDiabetesY}, {{"y", DType::f32, 0, 1, true}});
  CHECK_THROWS_WITH(ds.gather({0, 442}), Equals("row 442 is out of range for a dataset of 442 rows"));
}

TEST_CASE("dataset from .npy files gathers rows of each array") {
  TempDir dir;
  keel::Tensor x(DType::f32, {4, 2, 3});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = static_cast<float>(i);
  keel::Tensor y(DType::i64, {4});
  for (std::int64_t i = 0; i < 4; ++i) y.as<std::int64_t>()[i] = 10 * i;
  keel::write_npy(dir / "x.npy", x);
  keel::write_npy(dir / "y.npy", y);
  const keel::Dataset ds = keel::Dataset::from_npy({{"x", dir / "x.npy"}, {"y", dir / "y.npy"}});
  CHECK(ds.rows() == 4);
  CHECK(ds.inputs() == std::vector<std::string>{"x", "y"});
  const std::vector<keel::Tensor> b = ds.gather({3, 1});
  CHECK(b[0].shape() == keel::Shape{2, 2, 3});
  CHECK(b[0].as<float>()[0] == 18);
  CHECK(b[0].as<float>()[6] == 6);
  CHECK(b[1].as<std::int64_t>()[0] == 30);
  CHECK(b[1].as<std::int64_t>()[1] == 10);

  keel::write_npy(dir / "short.npy", keel::Tensor(DType::f32, {3, 2}));
  keel::write_npy(dir / "scalar.npy", keel::Tensor(DType::f32, {}));
  keel::write_npy(dir / "empty.npy", keel::Tensor(DType::f32, {0, 2}));
  auto npy_error = [&](const std::vector<std::pair<std::string, fs::path>>& files) -> std::string {
    try {
      keel::Dataset::from_npy(files);
    } catch (const keel::Error& e) {
      return e.format();
    }
    return "no error";
  };
  CHECK_THAT(
      npy_error({{"x", dir / "x.npy"}, {"s", dir / "short.npy"}}),
      Equals((dir / "short.npy").string() + ": has 3 rows, but " + (dir / "x.npy").string() + " has 4"));
  CHECK_THAT(npy_error({{"s", dir / "scalar.npy"}}), Contains("scalar.npy: holds a 0-d array"));
  CHECK_THAT(npy_error({{"e", dir / "empty.npy"}}), Contains("empty.npy: has no rows"));
  CHECK_THAT(npy_error({{"x", dir / "x.npy"}, {"x", dir / "y.npy"}}),
             Equals("input 'x' is bound to data twice"));
  CHECK_THAT(npy_error({}), Equals("no .npy files given"));
}

TEST_CASE("dataset binds columns by header name: a name range includes both ends") {
  TempDir dir;
  write_file(dir / "a.csv", "\xEF\xBB\xBFid,mean radius,mean area\n7,17.99,1001\n8,20.57,1326\n");
  write_file(dir / "b.csv", "target\n1\n0\n");
  ColumnBinding x{"x", DType::f32, 0, 1, false};
  x.first_name = "mean radius";
  x.last_name = "mean area";
  ColumnBinding y{"y", DType::i32, 0, 1, true};
  y.first_name = "target";
  const auto ds = keel::Dataset::from_csv({dir / "a.csv", dir / "b.csv"}, {x, y}, keel::CsvHeader::detect);
  const auto b = ds.gather(all_rows(2));
  REQUIRE(b[0].shape() == keel::Shape{2, 2});
  CHECK(std::vector<float>(b[0].as<float>(), b[0].as<float>() + 4) ==
        std::vector<float>{17.99f, 1001, 20.57f, 1326});
  CHECK(std::vector<std::int32_t>(b[1].as<std::int32_t>(), b[1].as<std::int32_t>() + 2) ==
        std::vector<std::int32_t>{1, 0});

  auto error = [&](ColumnBinding bad, keel::CsvHeader mode) {
    return keel::test::usage_error_of([&] {
      keel::Dataset::from_csv({dir / "a.csv", dir / "b.csv"}, {bad}, mode);
    });
  };
  ColumnBinding typo = y;
  typo.first_name = "targte";
  CHECK_THAT(error(typo, keel::CsvHeader::detect),
             Equals("input 'y': no column named 'targte' in the header row (did you mean 'target'?)"));
  ColumnBinding reversed = x;
  std::swap(reversed.first_name, reversed.last_name);
  CHECK_THAT(error(reversed, keel::CsvHeader::detect),
             Contains("column 'mean radius' (1) comes before column 'mean area' (2)"));
  CHECK_THAT(error(y, keel::CsvHeader::absent), Contains("has no header row (set header: true"));
}

TEST_CASE("dataset refuses a label outside its loss's class range where it is written") {
  TempDir dir;
  write_file(dir / "a.csv", "x,label\n0.5,0\n0.25,2\n0.125,3\n");
  ColumnBinding label{"label", DType::i32, 1, 1, true};
  label.classes = 3;
  label.loss_node = "loss";
  try {
    keel::Dataset::from_csv({dir / "a.csv"}, {label}, keel::CsvHeader::detect);
    FAIL("no error");
  } catch (const keel::Error& e) {
    CHECK(e.format() == (dir / "a.csv").string() +
                            ":4:7: '3' is a label outside the loss's class range 0..2 (node 'loss')");
  }
}

TEST_CASE("split_rows holds out round(holdout * n) rows, halves away from zero") {
  for (auto [n, fraction, held] : std::vector<std::tuple<std::size_t, double, std::size_t>>{
           {10, 0.25, 3}, {10, 0.2, 2}, {24, 0.25, 6}, {3, 0.1, 0}, {5, 0.5, 3}}) {
    const keel::Split s = keel::split_rows(n, fraction, 7);
    CHECK(s.holdout.size() == held);
    CHECK(s.train.size() == n - held);
  }
}
