#include "runtime/atomic_file.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "files.hpp"

namespace fs = std::filesystem;
using keel::test::slurp;
using keel::test::TempDir;
using keel::test::write_file;
using Names = std::vector<std::string>;

TEST_CASE("atomic write creates the target with exactly what the writer wrote") {
  TempDir dir;
  keel::write_file_atomically(dir / "out.bin", [](std::ostream& out) { out << "hello\0x"; });
  CHECK(slurp(dir / "out.bin") == "hello");
  CHECK(dir.entries() == Names{"out.bin"});
}

TEST_CASE("atomic write whose writer throws leaves neither target nor temporary") {
  TempDir dir;
  auto failing = [](std::ostream& out) {
    out << std::string(100000, 'x');  // enough to reach the disk before the failure
    throw std::runtime_error("writer failed");
  };
  CHECK_THROWS_WITH(keel::write_file_atomically(dir / "out.bin", failing), "writer failed");
  CHECK(dir.entries().empty());
}

TEST_CASE("atomic write keeps an existing target untouched when the writer throws") {
  TempDir dir;
  write_file(dir / "out.bin", "last good contents");
  auto failing = [](std::ostream& out) {
    out << "partial";
    throw std::runtime_error("writer failed");
  };
  CHECK_THROWS_AS(keel::write_file_atomically(dir / "out.bin", failing), std::runtime_error);
  CHECK(slurp(dir / "out.bin") == "last good contents");
  CHECK(dir.entries() == Names{"out.bin"});
}

TEST_CASE("atomic write replaces an existing target whole") {
  TempDir dir;
  write_file(dir / "out.bin", std::string(5000, 'o'));
  keel::write_file_atomically(dir / "out.bin", [](std::ostream& out) { out << "new"; });
  CHECK(slurp(dir / "out.bin") == "new");
  CHECK(dir.entries() == Names{"out.bin"});
}

TEST_CASE("atomic write into a missing folder is a runtime error naming the target") {
  TempDir dir;
  try {
    keel::write_file_atomically(dir / "nope" / "out.bin", [](std::ostream& out) { out << "x"; });
    FAIL("write succeeded in a missing folder");
  } catch (const keel::Error& e) {
    CHECK(e.code() == keel::ExitCode::runtime);
    CHECK_THAT(e.format(), Catch::Matchers::Contains("out.bin"));
  }
  CHECK(dir.entries().empty());
}
