// The host's side of the boundary: a plugin's C table (keel/abi.h) turned
// back into C++ schemas, op makers and codec makers of the host's own
// standard library. The runner's loader uses it after checking the table's
// ABI version; a plugin's tests use it to obtain ops through the plugin's
// own table, exactly as the runner does (keel/testing.hpp, ops_of).
//
// An op made here forwards each call through the C table. A failure the
// plugin reports as a caught exception is rethrown here as
// std::runtime_error, so the host's exception handling sees what the
// plugin threw; a failed status stays a failed Status.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "keel/abi.h"
#include "keel/codec.hpp"
#include "keel/detail/import_codec.hpp"
#include "keel/detail/import_op.hpp"
#include "keel/op.hpp"
#include "keel/schema.hpp"

namespace keel {

using CodecMaker = std::function<std::unique_ptr<Codec>()>;

struct ImportedOpEntry {
  OpSchema schema;
  OpMaker make;
};

struct ImportedCodecEntry {
  std::string name;
  std::string doc;
  CodecMaker make;
};

struct ImportedPlugin {
  std::string name;
  std::string version;
  std::vector<ImportedOpEntry> ops;
  std::vector<ImportedCodecEntry> codecs;
};

// The least table a host reads: everything up to the op entries. A table
// from an SDK before a field was appended is shorter than this host's
// sizeof(keel_plugin_table); the fields it lacks read as absent (docs/abi.md).
inline constexpr std::size_t kMinPluginTableSize = offsetof(keel_plugin_table, codecs);

// Whether a table reaches its codec fields: one laid out before they were
// appended is shorter, and has no codecs.
inline bool table_has_codecs(const keel_plugin_table& t) {
  return t.table_size >= offsetof(keel_plugin_table, codec_entry_size) + sizeof t.codec_entry_size;
}

// Reads a table whose abi_version and sizes the caller has checked (the
// loader does, with exact messages). Throws std::runtime_error when the
// table reports a registration failure.
inline ImportedPlugin import_plugin(const keel_plugin_table& t) {
  if (t.error) throw std::runtime_error(t.error);
  ImportedPlugin out;
  out.name = detail::c_str_or_empty(t.name);
  out.version = detail::c_str_or_empty(t.version);
  for (std::size_t i = 0; i < t.n_ops; ++i) {
    keel_op_entry e{};
    const auto* at = reinterpret_cast<const unsigned char*>(t.ops) + i * t.op_entry_size;
    std::memcpy(&e, at, std::min(t.op_entry_size, sizeof e));
    out.ops.push_back({detail::schema_from_c(e.schema), detail::op_maker(e)});
  }
  if (table_has_codecs(t))
    for (std::size_t i = 0; i < t.n_codecs; ++i) {
      keel_codec_entry e{};
      const auto* at = reinterpret_cast<const unsigned char*>(t.codecs) + i * t.codec_entry_size;
      std::memcpy(&e, at, std::min(t.codec_entry_size, sizeof e));
      out.codecs.push_back(
          {detail::c_str_or_empty(e.name), detail::c_str_or_empty(e.doc), detail::codec_maker(e)});
    }
  return out;
}

}  // namespace keel
