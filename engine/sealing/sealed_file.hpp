// Files through the plugins' codecs (keel/codec.hpp): sealing bytes or a
// file into a codec's format, opening it back, writing key files, and
// recognizing a sealed file by its first bytes. The engine holds no key
// material: it passes where the key is (a KeySource) and the codec reads it.
// Every file is written through runtime/atomic_file, so a failure (a wrong
// key, a modified file) leaves no output, not even a partial one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "keel/codec.hpp"
#include "registry/registry.hpp"

namespace keel {

// The codec named `name`; keel::Error (usage) naming the codecs there are
// (or saying that the plugin that provides codecs was not found) otherwise.
CodecInstance make_codec(const Registry& registry, const std::string& name);

// The codec whose format `file` is in, by its first bytes: "" when none
// claims it, the file cannot be read, or it is not a regular file (a pipe
// cannot be peeked at without consuming it).
std::string detect_codec(const Registry& registry, const std::filesystem::path& file);
// The same, for a file already in memory.
std::string detect_codec_of_bytes(const Registry& registry, std::string_view bytes);

// Fails with keel::Error (usage) "<codec>: <why>" when the key source is not
// usable, before any data is read.
void check_key(const Codec& codec, const std::string& codec_name, const KeySource& key);

// Seals / opens file `in` into file `out`. Problems with the input or the
// key are keel::Error (usage) "IN: <why>"; failing to write is runtime. The
// opened (plaintext) file is created with mode 0600; replacing an existing
// file keeps that file's mode.
void seal_file(Codec& codec, const std::filesystem::path& in, const std::filesystem::path& out,
               const CodecOptions& options);
void open_file(Codec& codec, const std::filesystem::path& in, const std::filesystem::path& out,
               const CodecOptions& options);

// Bytes versions, for checkpoints: sealed straight into the file, so the
// plaintext never touches the disk; opened into memory.
void seal_bytes_to_file(Codec& codec, const std::string& bytes, const std::filesystem::path& out,
                        const CodecOptions& options);
// Opens a sealed file already read into memory (`source` names it in
// messages): one read serves the input check, the detection and the codec.
std::string open_bytes_to_bytes(Codec& codec, const std::string& sealed, const std::string& source,
                                const CodecOptions& options);

// Writes a new key file with mode 0600, atomically; refuses (usage) to
// replace an existing file.
void write_key_file(Codec& codec, const std::filesystem::path& file);

}  // namespace keel
