// Files the engine writes appear whole or not at all: the bytes go to a
// temporary file in the same folder, are flushed to disk, and the temporary
// is renamed over the target. A failure removes the temporary, so a failed
// or killed run never leaves a truncated output or clobbers the last good one.
// The temporary is named .NAME.tmp.PID.RANDOM; SIGINT, SIGTERM and SIGHUP
// remove it before the process dies (runtime/signals), and one left by a
// process killed otherwise (SIGKILL, power loss) is removed by the next write
// of NAME.
//
// Only regular files are written. A symbolic link is followed: its target's
// contents are replaced (atomically, the temporary next to the target) and
// the link stays. A target that is a device, FIFO or socket (such as
// /dev/null), or a link to one, is refused with keel::Error (usage): it is
// neither replaced by a regular file nor streamed into.
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
  // Private data (decrypted output): a new file gets mode 0600 whatever the
  // umask; replacing an existing file keeps that file's permission bits.
  bool private_file = false;
  // Flush the file and its folder to disk before and after the rename (the
  // default), so that it survives a power loss too. Off for files that only
  // describe a run (run.json), where two fsyncs would cost more than the
  // file is worth; the rename still makes it whole or absent.
  bool durable = true;
};

// Throws keel::Error (usage) when `path` exists and is not something these
// writers would replace (see above); for commands that write at the end of a
// long run (`--profile`), so they can refuse before running anything.
void check_output_target(const std::filesystem::path& path);

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
