// Files the engine writes appear whole or not at all: the bytes go to a
// temporary file in the same folder, are flushed to disk, and the temporary
// is renamed over the target. A failure removes the temporary, so a failed
// or killed run never leaves a truncated output or clobbers the last good one.
// The temporary is named .NAME.tmp.PID.RANDOM; one left by a killed process
// is removed by the next write of NAME.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <ostream>
#include <string_view>

namespace keel {

struct AtomicFileOptions {
  // A secret (key files): the temporary is created with mode 0600 before
  // any byte is written, and the stream is unbuffered so no copy of the
  // secret is left in a freed buffer.
  bool secret = false;
  // Never replace an existing file: the temporary is hard-linked to `path`,
  // which fails if `path` exists (even if it appeared meanwhile), and the
  // error is keel::Error (usage) "'PATH' already exists".
  bool no_clobber = false;
};

// Calls write(out) on a stream backed by a temporary file next to `path`,
// then renames it to `path`. Throws keel::Error (runtime) on I/O failure;
// if write throws, the temporary is removed and the exception propagates.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(std::ostream& out)>& write,
                           const AtomicFileOptions& options = {});

// The same with a file descriptor open read-write on the (empty) temporary,
// for writers that size, map or write the file themselves.
void write_fd_atomically(const std::filesystem::path& path, const std::function<void(int fd)>& write,
                         const AtomicFileOptions& options = {});

}  // namespace keel
