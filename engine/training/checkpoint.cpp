#include "training/checkpoint.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>

#include "base/error.hpp"
#include "runtime/read_file.hpp"
#include "sealing/sealed_file.hpp"
#include "training/training_data.hpp"

namespace keel {

namespace {

std::optional<std::uint64_t> metadata_int(const TensorFile& f, const std::string& key,
                                          const std::string& file,
                                          std::uint64_t max = std::uint64_t(INT64_MAX)) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end()) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || v > max)
    throw usage_error("checkpoint metadata '" + key + "' is not a non-negative integer", {file, 0, 0});
  return v;
}

void copy_into(Tensor& dst, const TensorFile& f, const std::string& name, const std::string& file) {
  const Tensor* src = f.find(name);
  if (!src) throw usage_error("the checkpoint has no tensor '" + name + "'", {file, 0, 0});
  if (src->dtype() != DType::f32 || src->shape() != dst.shape())
    throw usage_error("tensor '" + name + "' is " + std::string(dtype_name(src->dtype())) + " " +
                          shape_str(src->shape()) + " in the checkpoint but the graph needs f32 " +
                          shape_str(dst.shape()),
                      {file, 0, 0});
  std::memcpy(dst.data(), src->data(), dst.nbytes());
}

// The only codec checkpoints are sealed with.
constexpr const char* kCheckpointCodec = "keel";

TensorFile read_checkpoint_file(const std::filesystem::path& file, const CheckpointSeal& seal) {
  // Read once (and checked by the input check, when there is one): the
  // format is detected in, and the tensors decoded from, the same bytes.
  const std::string raw = read_input_file(file);
  const std::string codec_name = seal.registry ? detect_codec_of_bytes(*seal.registry, raw) : std::string();
  if (codec_name.empty()) {
    if (!seal.key.empty() && !seal.allow_plaintext)
      throw usage_error(
          "'" + file.string() +
          "' is not encrypted, but a key is given for it: a plaintext checkpoint is refused where "
          "a sealed one is expected (pass --allow-plaintext to load it anyway)");
    return decode_safetensors(raw, file.string());
  }
  if (seal.key.empty())
    throw usage_error("'" + file.string() + "' is an encrypted checkpoint (" + codec_name +
                      " format): give its key with --key-file FILE or --passphrase-env VAR");
  CodecInstance codec = make_codec(*seal.registry, codec_name);
  check_key(*codec, codec_name, seal.key);
  return decode_safetensors(open_bytes_to_bytes(*codec, raw, file.string(), {seal.key, -1}), file.string());
}

}  // namespace

CheckpointSeal checkpoint_seal(const Registry& registry, const KeySource& key) {
  if (!key.empty()) {
    const CodecInstance codec = make_codec(registry, kCheckpointCodec);
    check_key(*codec, kCheckpointCodec, key);
  }
  return {&registry, key, false};
}

void save_checkpoint(const std::filesystem::path& file, const Plan& plan,
                     const std::vector<OptimizerState>& state, const TrainingPosition& position,
                     std::int64_t batch_size, const CheckpointSeal& seal) {
  TensorFile f;
  for (const auto& p : plan.params()) f.tensors.emplace_back(p.name, p.value);
  for (const auto& s : state) f.tensors.emplace_back(s.name, *s.tensor);
  f.metadata["format"] = kCheckpointFormat;
  f.metadata["graph"] = plan.graph().def.name;
  f.metadata["seed"] = std::to_string(plan.graph().def.seed);
  f.metadata["batch_size"] = std::to_string(batch_size);
  f.metadata["step"] = std::to_string(position.step);
  f.metadata["epoch"] = std::to_string(position.epoch);
  f.metadata["batch"] = std::to_string(position.batch);
  std::error_code ec;
  if (!file.parent_path().empty()) std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) throw runtime_error("cannot create folder '" + file.parent_path().string() + "': " + ec.message());
  if (seal.key.empty()) {
    write_safetensors(file, f);
    return;
  }
  if (!seal.registry) throw runtime_error("internal error: a checkpoint key without a registry");
  CodecInstance codec = make_codec(*seal.registry, kCheckpointCodec);
  seal_bytes_to_file(*codec, encode_safetensors(f), file, {seal.key, -1});
}

CheckpointInfo load_checkpoint(const std::filesystem::path& file, Plan& plan,
                               const std::vector<OptimizerState>* state, const CheckpointSeal& seal) {
  const TensorFile f = read_checkpoint_file(file, seal);
  const std::string name = file.string();
  CheckpointInfo info;
  if (auto it = f.metadata.find("format"); it != f.metadata.end()) {
    // A later format may mean the same tensors differently: refuse, don't guess.
    if (it->second != kCheckpointFormat)
      throw usage_error("checkpoint format '" + printable(it->second) + "' is not one this keel reads (" +
                            kCheckpointFormat + ")",
                        {name, 0, 0});
    info.has_format = true;
  }
  for (auto& p : plan.params()) {
    if (p.value.empty()) p.value = Tensor(DType::f32, p.shape);
    if (!state && !f.find(p.name) && filled_by_calibration(plan.graph(), p.name)) continue;  // measured later
    // Nothing to load: a guard's statistics where its check keeps none (an
    // output guard in a sampling graph the training graph lacks).
    if (!f.find(p.name) && p.value.numel() == 0) continue;
    copy_into(p.value, f, p.name, name);
  }
  if (state)
    for (const auto& s : *state) copy_into(*s.tensor, f, s.name, name);
  info.position.step = metadata_int(f, "step", name).value_or(0);
  info.position.epoch = std::int64_t(metadata_int(f, "epoch", name).value_or(0));
  info.position.batch = std::int64_t(metadata_int(f, "batch", name).value_or(0));
  if (auto it = f.metadata.find("graph"); it != f.metadata.end()) info.graph = it->second;
  info.seed = metadata_int(f, "seed", name, UINT64_MAX);
  if (auto b = metadata_int(f, "batch_size", name)) info.batch_size = std::int64_t(*b);
  return info;
}

}  // namespace keel
