// CSV data sources: the text parser on its own, then the same bytes as a
// dataset file bound to two inputs whose dtypes and column ranges come from
// the first two bytes, split and gathered in a seeded order. A file is
// either rejected with a one-line keel::Error (exit code 2) or gives a
// dataset whose batches hold the rows asked for.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "fuzz_util.hpp"
#include "runtime/csv.hpp"
#include "runtime/dataset.hpp"

namespace {

constexpr keel::DType kDTypes[] = {keel::DType::f32, keel::DType::f64, keel::DType::i32,
                                   keel::DType::i64, keel::DType::u8,  keel::DType::boolean};

keel::ColumnBinding binding(const char* name, std::uint8_t b, std::int64_t first) {
  keel::ColumnBinding c;
  c.input = name;
  c.dtype = kDTypes[b % 6];
  c.first = first;
  c.count = 1 + (b >> 3) % 4;
  c.scalar = c.count == 1 && (b & 0x80);
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  try {
    const keel::CsvTable t = keel::parse_csv(text, "fuzz.csv");
    keel::fuzz::require(t.rows > 0 && t.cols > 0 && t.values.size() == t.rows * t.cols,
                        "a table is rows x cols values");
  } catch (const keel::Error& e) {
    keel::fuzz::require(e.code() == keel::ExitCode::usage, "a bad CSV is a usage error (exit 2)");
    keel::fuzz::require_one_line(e.format());
  }

  const keel::ColumnBinding a = binding("a", data[0], 0);
  const keel::ColumnBinding b = binding("b", data[1], a.count + (data[1] & 0x40 ? 1 : 0));
  try {
    const keel::Dataset ds = keel::Dataset::from_csv({keel::fuzz::scratch_file(text, ".csv")}, {a, b});
    keel::fuzz::require(ds.rows() > 0 && ds.inputs().size() == 2, "a dataset has rows and both inputs");
    const keel::Split split = keel::split_rows(ds.rows(), 0.25, data[0]);
    keel::fuzz::require(split.train.size() + split.holdout.size() == ds.rows(), "a split keeps every row");
    const auto order = keel::permutation(ds.rows(), data[1], 1);
    const auto batch = ds.gather(order);
    keel::fuzz::require(batch.size() == 2 && batch[0].shape()[0] == static_cast<keel::Dim>(ds.rows()),
                        "a batch holds the rows asked for");
  } catch (const keel::Error& e) {
    keel::fuzz::require(e.code() == keel::ExitCode::usage, "a bad data file is a usage error (exit 2)");
    keel::fuzz::require_one_line(e.format());
  }
  return 0;
}
