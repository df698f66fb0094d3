// Reading the training benchmarks' data sets into tensors: the digits CSV
// (64 pixel columns, then the label) and the large model's x.npy / label.npy
// (f32 and i64 arrays that bench/run writes with numpy). Only what those
// files use is understood; anything else throws std::runtime_error with one
// line naming the file.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace keel_peer {

[[noreturn]] inline void bad_file(const std::string& path, const std::string& why) {
  throw std::runtime_error(path + ": " + why);
}

// Rows of "p0,...,p63,label"; returns {pixels f32 [n, 64], labels i64 [n]}.
inline std::pair<torch::Tensor, torch::Tensor> read_digits_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) bad_file(path, "cannot open");
  std::vector<float> pixels;
  std::vector<int64_t> labels;
  std::string line;
  for (int64_t row = 1; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    std::vector<double> values;
    const char* p = line.c_str();
    for (;;) {
      char* end = nullptr;
      const double v = std::strtod(p, &end);
      if (end == p) bad_file(path, "row " + std::to_string(row) + ": not a number");
      values.push_back(v);
      p = end;
      if (*p != ',') break;
      ++p;
    }
    if (values.size() != 65 || values[64] < 0 || values[64] > 9)
      bad_file(path, "row " + std::to_string(row) + ": expected 64 pixels and a label 0..9");
    pixels.insert(pixels.end(), values.begin(), values.begin() + 64);
    labels.push_back(int64_t(values[64]));
  }
  if (labels.empty()) bad_file(path, "no rows");
  const auto n = int64_t(labels.size());
  return {torch::from_blob(pixels.data(), {n, 64}, torch::kFloat32).clone(),
          torch::from_blob(labels.data(), {n}, torch::kInt64).clone()};
}

// A C-order little-endian .npy array of `descr` ("<f4" or "<i8"), as numpy's
// np.save writes it (format versions 1 to 3).
inline torch::Tensor read_npy(const std::string& path, const std::string& descr, torch::Dtype dtype) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad_file(path, "cannot open");
  char magic[8] = {};
  in.read(magic, 8);
  if (!in || std::string(magic, 6) != "\x93NUMPY" || magic[6] < 1 || magic[6] > 3)
    bad_file(path, "not a .npy file");
  uint32_t header_len = 0;
  unsigned char len_bytes[4] = {};
  in.read(reinterpret_cast<char*>(len_bytes), magic[6] == 1 ? 2 : 4);
  for (int i = magic[6] == 1 ? 1 : 3; i >= 0; --i) header_len = header_len << 8 | len_bytes[i];
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (!in) bad_file(path, "truncated header");
  if (header.find("'descr': '" + descr + "'") == std::string::npos)
    bad_file(path, "expected dtype " + descr + " in the header " + header);
  if (header.find("'fortran_order': False") == std::string::npos) bad_file(path, "expected C order");
  const auto open = header.find("'shape': (");
  const auto close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) bad_file(path, "no shape in the header");
  std::vector<int64_t> shape;
  std::istringstream dims(header.substr(open + 10, close - open - 10));
  for (std::string dim; std::getline(dims, dim, ',');)
    if (dim.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stoll(dim));
  if (shape.empty()) bad_file(path, "expected an array of rank 1 or more");
  torch::Tensor t = torch::empty(shape, dtype);
  in.read(static_cast<char*>(t.data_ptr()), std::streamsize(t.nbytes()));
  if (!in) bad_file(path, "shorter than its shape says");
  return t;
}

}  // namespace keel_peer
