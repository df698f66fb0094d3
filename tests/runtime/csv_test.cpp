#include "runtime/csv.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "error_checks.hpp"
#include "files.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using keel::test::TempDir;
using keel::test::write_file;

namespace {

std::string error_of(const std::string& text, const keel::CsvFieldCheck& check = {}) {
  return keel::test::usage_error_of([&] { keel::parse_csv(text, "t.csv", check); });
}

}  // namespace

TEST_CASE("csv reader splits on commas when the first data line has one") {
  const keel::CsvTable t = keel::parse_csv("1,2,3\n 4 , 5\t,6\n", "t.csv");
  CHECK(t.rows == 2);
  CHECK(t.cols == 3);
  CHECK(t.values == std::vector<double>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("csv reader splits on runs of whitespace otherwise") {
  const keel::CsvTable t = keel::parse_csv("  1 2\t\t3\n4    5 6", "t.csv");
  CHECK(t.rows == 2);
  CHECK(t.cols == 3);
  CHECK(t.values == std::vector<double>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("csv reader skips comments and blank lines and accepts CRLF") {
  const keel::CsvTable t = keel::parse_csv("# x,y\r\n1,2\r\n\r\n  # note\n3,4\r\n\n", "t.csv");
  CHECK(t.rows == 2);
  CHECK(t.values == std::vector<double>{1, 2, 3, 4});
}

TEST_CASE("csv reader parses the number forms writers produce") {
  const keel::CsvTable t =
      keel::parse_csv("1e3,-2.5,+4,.5,1.510000000000000000e+02,-0,4.9406564584124654e-324\n", "t.csv");
  CHECK(t.values == std::vector<double>{1000, -2.5, 4, 0.5, 151, 0, 4.9406564584124654e-324});
}

TEST_CASE("csv reader reports each bad field at its line and column") {
  struct Case {
    std::string text, message;
  };
  const std::vector<Case> cases = {
      {"1,2,3\n4,x,6\n", "t.csv:2:3: 'x' is not a number"},
      {"1,2,3\n4,5\n", "t.csv:2:4: expected 3 fields (as on line 1), found 2"},
      {"1,2\n3,4,5\n", "t.csv:2:5: expected 2 fields (as on line 1), found 3"},
      {"# c\n1 2\n\n3 4 5\n", "t.csv:4:5: expected 2 fields (as on line 2), found 3"},
      {"1 2\n3,4 5\n", "t.csv:2:1: '3,4' is not a number"},
      {"1,,3\n", "t.csv:1:3: empty field"},
      {"1,2,\n", "t.csv:1:5: empty field"},
      {"1,0x10\n", "t.csv:1:3: '0x10' is not a number"},
      {"2,--1\n", "t.csv:1:3: '--1' is not a number"},
      {"2,+-1\n", "t.csv:1:3: '+-1' is not a number"},
      {"nan,1\n", "t.csv:1:1: 'nan' is not a finite number"},
      {"1,-inf\n", "t.csv:1:3: '-inf' is not a finite number"},
      {"1,1e999\n", "t.csv:1:3: '1e999' is outside the range of a double"},
      // A cell is quoted up to 200 characters, never a whole line of a file
      // that is not a table.
      {"1," + std::string(150, 'a') + "\n", "t.csv:1:3: '" + std::string(150, 'a') + "' is not a number"},
      {"1," + std::string(5000, 'b') + "\n", "t.csv:1:3: '" + std::string(200, 'b') + "...' is not a number"},
      {"1,a\tb\x01\n", "t.csv:1:3: 'a\\tb\\x01' is not a number"},
      {"", "t.csv: no data rows"},
      {"# only a comment\n\n", "t.csv: no data rows"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK_THAT(error_of(c.text), Equals(c.message));
  }
}

TEST_CASE("csv reader applies the caller's check to each field with its column") {
  std::vector<std::size_t> seen_columns;
  const keel::CsvFieldCheck check = [&](std::size_t col, double v) -> std::string {
    seen_columns.push_back(col);
    return col == 1 && v != static_cast<long long>(v) ? "is not an integer" : "";
  };
  CHECK(keel::parse_csv("0.5 1\n2 3\n", "t.csv", check).rows == 2);
  CHECK(seen_columns == std::vector<std::size_t>{0, 1, 0, 1});
  CHECK_THAT(error_of("0.5 1\n2 3.5\n", check), Equals("t.csv:2:3: '3.5' is not an integer"));
}

TEST_CASE("csv file reader names the file and refuses oversized files before reading") {
  TempDir dir;
  write_file(dir / "ok.csv", "1,2\n3,4\n");
  CHECK(keel::read_csv(dir / "ok.csv").values == std::vector<double>{1, 2, 3, 4});

  write_file(dir / "bad.csv", "1,2\n3,y\n");
  CHECK_THROWS_WITH(keel::read_csv(dir / "bad.csv"), Equals("'y' is not a number"));
  try {
    keel::read_csv(dir / "bad.csv");
  } catch (const keel::Error& e) {
    CHECK(e.format() == (dir / "bad.csv").string() + ":2:3: 'y' is not a number");
  }

  CHECK_THROWS_WITH(keel::read_csv(dir / "missing.csv"), Contains("cannot read"));

  // Sparse: the size is reported without the disk space being used.
  write_file(dir / "huge.csv", "");
  fs::resize_file(dir / "huge.csv", keel::kMaxCsvBytes + 1);
  CHECK_THROWS_WITH(keel::read_csv(dir / "huge.csv"),
                    Contains("file of 1073741825 bytes exceeds the limit of 1073741824 bytes"));
}

TEST_CASE("csv reader reads a header row when asked, or when no field of the first line is a number") {
  const std::string text = "\xEF\xBB\xBFmean radius,\"mean area\",target\r\n17.99,1001,0\r\n20.57,1326,1\r\n";
  for (keel::CsvHeader mode : {keel::CsvHeader::present, keel::CsvHeader::detect}) {
    const keel::CsvTable t = keel::parse_csv(text, "t.csv", {}, mode);
    CHECK(t.header == std::vector<std::string>{"mean radius", "mean area", "target"});
    CHECK(t.rows == 2);
    CHECK(t.values == std::vector<double>{17.99, 1001, 0, 20.57, 1326, 1});
    const keel::CsvHead head = keel::parse_csv_head(text, "t.csv", mode);
    CHECK(head.names == t.header);
    CHECK(head.cols == 3);
  }
  // The byte order mark is skipped without a header too.
  CHECK(keel::parse_csv("\xEF\xBB\xBF"
                        "1,2\n",
                        "t.csv")
            .values == std::vector<double>{1, 2});
  // A first line of numbers is data unless the file says otherwise.
  CHECK(keel::parse_csv("0,1\n2,3\n", "t.csv", {}, keel::CsvHeader::detect).rows == 2);
  CHECK(keel::parse_csv("0,1\n2,3\n", "t.csv", {}, keel::CsvHeader::present).rows == 1);
  CHECK(keel::parse_csv_head("0,1,2\n", "t.csv", keel::CsvHeader::detect).names.empty());
  // A header alone is no data; a data row must match the header's width.
  CHECK_THROWS_WITH(keel::parse_csv("a,b\n", "t.csv", {}, keel::CsvHeader::detect), Equals("no data rows"));
  try {
    keel::parse_csv("a,b\n1,2,3\n", "t.csv", {}, keel::CsvHeader::detect);
    FAIL("no error");
  } catch (const keel::Error& e) {
    CHECK(e.format() == "t.csv:2:5: expected 2 fields (as on line 1), found 3");
  }
  // A half-named first line is neither: the message says how to declare a header.
  try {
    keel::parse_csv("0,1,label\n1,2,3\n", "t.csv", {}, keel::CsvHeader::detect);
    FAIL("no error");
  } catch (const keel::Error& e) {
    CHECK(e.format() ==
          "t.csv:1:5: 'label' is not a number (if the first line names the columns, set header: true)");
  }
}
