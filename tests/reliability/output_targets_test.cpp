// Outputs that are not regular files (a device, a FIFO, a link to one) are
// refused and left as they were, never replaced by a file holding the data;
// a link to a regular file is followed; decrypted output is private (0600).
// Key files that would block (a FIFO with no writer) or are not files at all
// are refused before any blocking open.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "files.hpp"
#include "hardening_util.hpp"
#include "runtime/npy.hpp"

namespace fs = std::filesystem;
using keel::test::file_type;
using keel::test::listing;
using keel::test::run_keel;

namespace {

const char* kGraph = R"(keel: 1
name: output-targets
inputs:
  x: {dtype: f32, shape: [batch, 4]}
nodes:
  - {name: r, op: relu, inputs: [x]}
outputs: [r]
)";

// The one stderr line a refused output gives.
void check_refused(const keel::test::ProcessResult& r, const fs::path& target, const std::string& kind) {
  INFO("stderr: " << r.err);
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line() == "keel: error: output '" + target.string() + "' is " + kind +
                                  ", not a regular file; Keel writes outputs only to regular files (replaced "
                                  "whole, never streamed), so it leaves it alone");
  CHECK(keel::test::line_count(r.err) == 1);
}

}  // namespace

TEST_CASE("keel decrypt refuses a device or a FIFO or a link to a device as OUT and leaves each as it was") {
  keel::test::TempDir dir;
  const fs::path key = keel::test::make_key(dir.path());
  const fs::path plain = dir.write("plain.txt", "the plaintext");
  keel::test::encrypt(plain, dir / "c.enc", key);
  const fs::path fifo = dir / "fifo", link = dir / "null-link";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  fs::create_symlink("/dev/null", link);
  const auto before = listing(dir.path());

  check_refused(run_keel({"decrypt", (dir / "c.enc").string(), "/dev/null", "--key-file", key.string()}),
                "/dev/null", "a character device");
  // A FIFO nobody reads: opening it for writing would block; it is not opened.
  check_refused(run_keel({"decrypt", (dir / "c.enc").string(), fifo.string(), "--key-file", key.string()}),
                fifo, "a FIFO");
  check_refused(run_keel({"decrypt", (dir / "c.enc").string(), link.string(), "--key-file", key.string()}),
                link, "a character device");

  CHECK(file_type("/dev/null") == S_IFCHR);
  CHECK(file_type(fifo) == S_IFIFO);
  CHECK(file_type(link) == S_IFLNK);
  CHECK(fs::read_symlink(link) == "/dev/null");
  CHECK(listing(dir.path()) == before);  // no temporary, nothing new
}

TEST_CASE("keel graph -o refuses a FIFO and keel run --profile a link to a device before running") {
  keel::test::TempDir dir;
  const fs::path graph = dir.write("g.yaml", kGraph);
  const fs::path fifo = dir / "fifo", link = dir / "trace-link";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  fs::create_symlink("/dev/null", link);
  keel::Tensor x(keel::DType::f32, {2, 4});
  keel::write_npy(dir / "x.npy", x);
  const auto before = listing(dir.path());

  check_refused(run_keel({"graph", graph.string(), "-o", fifo.string()}), fifo, "a FIFO");
  check_refused(run_keel({"run", graph.string(), "--input", "x=" + (dir / "x.npy").string(), "-o",
                          (dir / "out").string(), "--profile", link.string()}),
                link, "a character device");

  // A dangling link is not followed into creating its target, nor replaced.
  const fs::path dangling = dir / "dangling";
  fs::create_symlink(dir / "missing" / "file.dot", dangling);
  const auto r = run_keel({"graph", graph.string(), "-o", dangling.string()});
  CHECK(r.exit_code == 2);
  CHECK(r.first_err_line().rfind(
            "keel: error: output '" + dangling.string() + "' is a symbolic link to a missing file or folder",
            0) == 0);
  CHECK(file_type(dangling) == S_IFLNK);
  fs::remove(dangling);

  CHECK(file_type(fifo) == S_IFIFO);
  CHECK(file_type(link) == S_IFLNK);
  CHECK(file_type(link, true) == S_IFCHR);
  CHECK(listing(dir.path()) == before);  // the run did not start: no output folder
}

TEST_CASE(
    "decrypted output is created with mode 0600 and replacing a file keeps its mode and a link is followed") {
  keel::test::TempDir dir;
  const fs::path key = keel::test::make_key(dir.path());
  const fs::path plain = dir.write("plain.txt", "the plaintext");
  keel::test::encrypt(plain, dir / "c.enc", key);
  const auto decrypt = [&](const fs::path& out) {
    return run_keel({"decrypt", (dir / "c.enc").string(), out.string(), "--key-file", key.string(), "-q"});
  };
  const mode_t old_umask = ::umask(022);  // what a user typically has: new files 0644

  SECTION("a new file") {
    REQUIRE(decrypt(dir / "new.txt").exit_code == 0);
    CHECK(keel::test::permissions(dir / "new.txt") == 0600);
    CHECK(keel::test::slurp(dir / "new.txt") == "the plaintext");
  }
  SECTION("an existing file keeps the mode its owner gave it") {
    const fs::path old = dir.write("old.txt", "old contents");
    fs::permissions(old, fs::perms(0640));
    REQUIRE(decrypt(old).exit_code == 0);
    CHECK(keel::test::permissions(old) == 0640);
    CHECK(keel::test::slurp(old) == "the plaintext");
  }
  SECTION("a link to a regular file: the link stays, its target gets the plaintext") {
    fs::create_directories(dir / "real");
    const fs::path target = dir.write("real/target.txt", "old contents");
    fs::create_symlink(target, dir / "link.txt");
    REQUIRE(decrypt(dir / "link.txt").exit_code == 0);
    CHECK(file_type(dir / "link.txt") == S_IFLNK);
    CHECK(keel::test::slurp(target) == "the plaintext");
    CHECK_FALSE(keel::test::has_temporary(dir / "real"));
    CHECK_FALSE(keel::test::has_temporary(dir.path()));
  }
  ::umask(old_umask);
}

TEST_CASE("a key file that is a FIFO or a device or a socket is refused at once without blocking") {
  keel::test::TempDir dir;
  const fs::path in = dir.write("in.enc", "anything: the key is checked first");
  const fs::path fifo = dir / "key-fifo", sock = dir / "key-sock";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);  // no writer: a blocking open would wait forever
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(sock.string().size() < sizeof addr.sun_path);
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);

  const std::pair<fs::path, std::string> cases[] = {
      {fifo, "a FIFO"}, {"/dev/zero", "a character device"}, {sock, "a socket"}};
  for (const auto& [key, kind] : cases) {
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_keel({"decrypt", in.string(), (dir / "out").string(), "--key-file", key.string()});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(key << ": " << r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(seconds < 1.0 * keel::test::time_scale());
    CHECK(r.exit_code == 2);
    CHECK(r.first_err_line() ==
          "keel: error: key file '" + key.string() + "' is " + kind + ", not a regular file");
    CHECK(keel::test::line_count(r.err) == 1);
    CHECK_FALSE(fs::exists(dir / "out"));
  }
  ::close(s);
}
