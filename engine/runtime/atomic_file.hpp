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

// Calls write(out) on a stream backed by a temporary file next to `path`,
// then renames it to `path`. Throws keel::Error (runtime) on I/O failure;
// if write throws, the temporary is removed and the exception propagates.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(std::ostream& out)>& write);

}  // namespace keel
