#include "base/error.hpp"

#include <catch2/catch.hpp>

TEST_CASE("an error formats as FILE:LINE:COL: message with its subject") {
  keel::Error e(keel::ExitCode::usage, "unknown op 'lienar'", {"g.yaml", 4, 9}, {"fc1", "lienar", ""});
  CHECK(e.format() == "g.yaml:4:9: unknown op 'lienar' (node 'fc1', op 'lienar')");
  CHECK(e.code() == keel::ExitCode::usage);
}

TEST_CASE("an error without position or subject is just its message") {
  CHECK(keel::runtime_error("disk full").format() == "disk full");
  CHECK(keel::runtime_error("x", {"f.npy", 0, 0}).format() == "f.npy: x");
}

TEST_CASE("printable escapes bidirectional-text controls as \\uXXXX") {
  // U+202A..U+202E and U+2066..U+2069: each of the nine is escaped.
  CHECK(keel::printable("a\xe2\x80\xaa"
                        "b\xe2\x80\xae"
                        "c") == "a\\u202ab\\u202ec");
  CHECK(keel::printable("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9") ==
        "\\u2066\\u2067\\u2068\\u2069");
  // Neighbours that are ordinary text stay as they are (U+2029, U+2065 unassigned, U+2026 ellipsis).
  CHECK(keel::printable("\xe2\x80\xa9\xe2\x80\xa6") == "\xe2\x80\xa9\xe2\x80\xa6");
  // A truncated sequence at the end of the text is not a control.
  CHECK(keel::printable("x\xe2\x80") == "x\xe2\x80");
}

TEST_CASE("printable cuts at a character boundary") {
  // "é" is two bytes; a cut after 3 bytes would split the second one.
  CHECK(keel::printable("\xc3\xa9\xc3\xa9\xc3\xa9", 3) == "\xc3\xa9...");
  CHECK(keel::printable("abcdef", 3) == "abc...");
  CHECK(keel::printable("abc", 3) == "abc");
}

TEST_CASE("an error bounds its message, file name and subject, and escapes bidi controls in each") {
  const std::string rlo = "\xe2\x80\xae";
  keel::Error e(keel::ExitCode::usage, std::string(100000, 'm') + rlo, {std::string(5000, 'f') + rlo, 1, 2},
                {rlo + std::string(5000, 'n'), "op" + rlo, ""});
  CHECK(e.message() == std::string(800, 'm') + "...");
  CHECK(e.loc().file == std::string(400, 'f') + "...");
  CHECK(e.subject().node == "\\u202e" + std::string(197, 'n') + "...");
  CHECK(e.subject().op == "op\\u202e");
  CHECK(e.format().size() < 1600);
  CHECK(std::string(e.what()).size() == 803);
}
