// An append-only file of text lines (metrics.jsonl, anomalies.jsonl) whose
// every line reaches the file in one write(2) on an O_APPEND descriptor, so
// a reader, a crash or a second writer never sees half a line.
#pragma once

#include <filesystem>
#include <string>

namespace keel {

class LineFile {
 public:
  LineFile() = default;
  // Opens `path`, emptied first unless `append`. keel::Error (runtime)
  // naming the file and the OS reason.
  LineFile(const std::filesystem::path& path, bool append);
  ~LineFile();
  LineFile(LineFile&& other) noexcept;
  LineFile& operator=(LineFile&& other) noexcept;

  bool is_open() const { return fd_ >= 0; }
  const std::filesystem::path& path() const { return path_; }
  // `line` without its newline; keel::Error (runtime) on a failed or short
  // write (a full disk), naming the file and the OS reason.
  void write_line(const std::string& line);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace keel
