// The engine's one error type. Every failure a user can cause ends up as a
// keel::Error carrying the exit code it maps to and where it happened, and
// the CLI prints it as one line: `keel: error: FILE:LINE:COL: message`.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace keel {

// The documented exit codes of `keel` (docs/cli.md).
enum class ExitCode : int { ok = 0, runtime = 1, usage = 2, anomaly = 3 };

// A place in a user's file. line/col are 1-based; 0 means unknown.
struct SourceLoc {
  std::string file;
  int line = 0;
  int col = 0;
};

// Names the graph element an error is about, when there is one.
struct ErrorSubject {
  std::string node;
  std::string op;
  std::string plugin;
};

// A user's text as messages quote it: control characters and bidirectional
// text controls (U+202A-U+202E, U+2066-U+2069, shown as \u202e) escaped, cut
// after `limit` bytes (at a character boundary, with "..."), so a hostile
// name keeps a message short and cannot reorder what the terminal shows.
std::string printable(std::string_view s, std::size_t limit = 60);

// The message, the file name and the subject's names are kept on one line:
// control characters in them (which come from users' files and plugins) are
// stored escaped, as printable() does. They are also bounded, whatever a
// caller passed: the message at 800 bytes, the file name at
// 400, each subject name at 200 (cut with "...").
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::string message, SourceLoc loc = {}, ErrorSubject subject = {});

  ExitCode code() const { return code_; }
  const SourceLoc& loc() const { return loc_; }
  const ErrorSubject& subject() const { return subject_; }
  const std::string& message() const { return message_; }

  // "FILE:LINE:COL: message (node 'n', op 'o', plugin 'p')", the parts present.
  std::string format() const;

 private:
  ExitCode code_;
  std::string message_;
  SourceLoc loc_;
  ErrorSubject subject_;
};

// Shorthands for the two common classes.
Error usage_error(std::string message, SourceLoc loc = {}, ErrorSubject subject = {});
Error runtime_error(std::string message, SourceLoc loc = {}, ErrorSubject subject = {});

}  // namespace keel
