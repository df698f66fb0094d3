// The check keel runs on every file it reads as input to a run — graph
// files, data, checkpoints, plugin libraries — before their bytes are used.
// The trust policy (engine/trust/policy.hpp, `--require-signed`) installs
// one that verifies each file's signature; without one nothing is checked.
//
// It lives here, below every reader, so that readers (runtime, graph,
// registry, sealing) call it without depending on the trust module, which
// needs Crypto++.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

namespace keel {

class InputCheck {
 public:
  virtual ~InputCheck() = default;
  // `bytes` is the whole of `file`, already read: what is checked is what
  // will be used. Throws keel::Error (usage) naming the file when refused.
  virtual void check_bytes(std::string_view bytes, const std::filesystem::path& file) const = 0;
  // The whole of the open regular file `fd` (read with pread from offset 0;
  // the offset is left alone), for files used through that descriptor.
  virtual void check_fd(int fd, const std::filesystem::path& file) const = 0;
};

// Installs the process's check (null: none). Set once, before any input is
// read; readers on other threads only read it.
void set_input_check(std::shared_ptr<const InputCheck> check);

// The installed check, or null.
const InputCheck* input_check();

}  // namespace keel
