// One run per output folder. Two `keel run` writing into the same folder
// would interleave their metrics and overwrite each other's checkpoints; the
// second one is refused instead. The lock is flock(2) on DIR/.keel.lock,
// which the kernel releases when its holder dies however it dies, so a
// killed run never leaves a folder locked. The file holds the holder's
// process id, for the message, and is removed when the lock is released.
#pragma once

#include <filesystem>

namespace keel {

class FolderLock {
 public:
  // Locks `dir` (which must exist). keel::Error (runtime) naming the other
  // process when another run holds it.
  explicit FolderLock(const std::filesystem::path& dir);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  static constexpr const char* kFileName = ".keel.lock";

 private:
  std::filesystem::path file_;
  int fd_ = -1;
};

}  // namespace keel
