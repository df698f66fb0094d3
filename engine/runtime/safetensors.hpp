// The safetensors layout for parameter sets and checkpoints: an 8-byte
// little-endian header length, a JSON header mapping each name to
// {dtype, shape, data_offsets} (plus an optional "__metadata__" object of
// string values), then the raw little-endian data. Files written here are
// read by the `safetensors` Python package and vice versa.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor.hpp"

namespace keel {

struct TensorFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in the header's order
  std::map<std::string, std::string> metadata;
  const Tensor* find(const std::string& name) const;
};

// Serializes to bytes (tensors in the given order, the header padded with
// spaces to a multiple of 8 bytes as the reference implementation does).
std::string encode_safetensors(const TensorFile& file);

// Parses bytes; `source` names the file in errors. Every malformed input is
// a keel::Error (usage): short file, header length beyond the file, header
// not JSON or not the expected shape, unknown dtype, offsets that overlap,
// leave gaps, or do not match dtype x shape, duplicate names, metadata values
// that are not strings, bool bytes other than 0 or 1. Nothing is allocated
// for a tensor before its size is checked against the bytes present.
TensorFile decode_safetensors(const std::string& bytes, const std::string& source);

// File versions: write atomically (temporary + rename), read whole.
void write_safetensors(const std::filesystem::path& path, const TensorFile& file);
TensorFile read_safetensors(const std::filesystem::path& path);

}  // namespace keel
