// What SIGINT, SIGTERM and SIGHUP do to a running `keel`: the process still
// dies of the signal (the shell sees 128+N), but first every temporary file
// an atomic writer has open is removed, so an interrupted `keel decrypt`
// never leaves hundreds of MB of plaintext in a hidden `.NAME.tmp.*` file.
// Training asks for one more thing: the first signal only requests a stop
// at the next step boundary (GracefulStop); a second one kills as usual.
//
// The handler is async-signal-safe: it reads a fixed table of paths and
// atomic flags, calls only unlink(2), sigaction(2) and raise(3), and takes
// no lock. Registration is thread-safe and never allocates inside the table.
// A signal that was ignored when the process started (`nohup` ignores
// SIGHUP) stays ignored.
#pragma once

#include <filesystem>

namespace keel::signals {

// Installs handlers for SIGINT, SIGTERM and SIGHUP (idempotent, called at the
// start of main; TemporaryFile and GracefulStop call it too, so library
// users get the same guarantees, and a handler another library put in
// meanwhile is replaced again). A signal ignored at the first call is left
// ignored.
void install();

// While alive, the named temporary file is removed if the process is killed
// by one of those signals (the handler unlinks every registered path,
// restores the default disposition and re-raises, so the exit status still
// says which signal). Used by every atomic writer; register the name before
// creating the file, so no moment exists where the file is there and not
// registered. At most kMaxTemporaries are registered at once; beyond that a
// temporary is not cleaned up by a signal (a later write of the same file
// still removes it, as after SIGKILL).
class TemporaryFile {
 public:
  static constexpr int kMaxTemporaries = 64;

  explicit TemporaryFile(const std::filesystem::path& path);
  ~TemporaryFile();
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

 private:
  int slot_ = -1;  // -1: the table was full, or the path too long
};

// While a GracefulStop is alive, the FIRST SIGINT/SIGTERM/SIGHUP only records
// the signal number (requested() returns it, 0 before); a SECOND one behaves
// as without it (unlink temporaries, re-raise at once). Used by training to
// stop at a step boundary. The recorded signal stays recorded for the rest of
// the process (a stop, once asked for, is not forgotten).
class GracefulStop {
 public:
  GracefulStop();
  ~GracefulStop();
  GracefulStop(const GracefulStop&) = delete;
  GracefulStop& operator=(const GracefulStop&) = delete;

  static int requested();
};

}  // namespace keel::signals
