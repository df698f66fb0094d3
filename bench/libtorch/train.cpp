// The training benchmarks' models in LibTorch (PyTorch's C++ frontend), for
// steps/s: the peer without Python. Same models, initialisation, data,
// batch, optimizer and loop as bench/torch_train.py, written with torch::nn.
//
//   libtorch_train MODEL --data PATH --steps N [--threads T]
//
// flagship: graphs/digits_train.yaml. pixels/16 -> Linear(64,128) ->
//   BatchNorm1d -> ReLU -> Linear(128,128) -> BatchNorm1d -> ReLU -> + skip
//   -> Linear(128,10); PATH is digits.csv, 20% of the rows held out.
// large: bench/graphs/large_train.yaml. 4 residual blocks
//   x + ReLU(BatchNorm1d(Linear(512,512) x)), then Linear(512,10); PATH is
//   the folder of x.npy and label.npy that bench/run writes; no hold-out.
// Both: cross entropy, SGD lr 0.05 momentum 0.9 weight decay 1e-4, gradient
// norm clipped to 5; torch::nn's default initialisation, which is PyTorch's
// (so torch_train.py, seeded alike, starts from the same weights).
//
// Runs exactly N steps and times the training loop only (data loading and
// model construction are outside the clock). Like torch_train.py, after
// every epoch it evaluates in inference mode, all rows at once, the hold-out
// split (loss and accuracy) and the train split (accuracy). Prints one JSON
// object: steps, seconds, steps_per_s (what bench/run reads), the last
// step's loss and the last evaluation (to check the peer trains), and the
// BLAS libraries the process has mapped (bench/run checks it runs the
// OpenBLAS it asked for).
//
// Exit status: 0 done; 2 bad arguments or unreadable data (one line on
// stderr); 1 LibTorch failed.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "data_files.hpp"

namespace {

namespace F = torch::nn::functional;

struct FlagshipImpl : torch::nn::Module {
  // Made in torch_train.py's order, so a seeded run draws the same weights.
  torch::nn::Linear fc1 = register_module("fc1", torch::nn::Linear(64, 128));
  torch::nn::BatchNorm1d bn1 = register_module("bn1", torch::nn::BatchNorm1d(128));
  torch::nn::Linear fc2 = register_module("fc2", torch::nn::Linear(128, 128));
  torch::nn::BatchNorm1d bn2 = register_module("bn2", torch::nn::BatchNorm1d(128));
  torch::nn::Linear head = register_module("head", torch::nn::Linear(128, 10));

  torch::Tensor forward(const torch::Tensor& pixels) {
    const auto a1 = torch::relu(bn1(fc1(pixels * 0.0625)));
    const auto a2 = torch::relu(bn2(fc2(a1)));
    return head(a2 + a1);
  }
};
TORCH_MODULE(Flagship);

struct LargeImpl : torch::nn::Module {
  static constexpr int width = 512, blocks = 4;
  std::vector<torch::nn::Linear> fcs;
  std::vector<torch::nn::BatchNorm1d> bns;
  torch::nn::Linear head{nullptr};

  LargeImpl() {
    // torch_train.py's order: every linear, then every batch norm, then the head.
    for (int i = 0; i < blocks; ++i)
      fcs.push_back(register_module("fc" + std::to_string(i), torch::nn::Linear(width, width)));
    for (int i = 0; i < blocks; ++i)
      bns.push_back(register_module("bn" + std::to_string(i), torch::nn::BatchNorm1d(width)));
    head = register_module("head", torch::nn::Linear(width, 10));
  }

  torch::Tensor forward(torch::Tensor x) {
    for (int i = 0; i < blocks; ++i) x = x + torch::relu(bns[i](fcs[i](x)));
    return head(x);
  }
};
TORCH_MODULE(Large);

struct Split {
  torch::Tensor x, y;
};

struct Outcome {
  double seconds = 0, last_loss = 0, holdout_loss = -1, holdout_accuracy = -1, train_accuracy = -1;
};

// torch_train.py's train(): the same loop, step for step.
template <class Model>
Outcome train(Model& model, const Split& data, const Split* holdout, int64_t batch, int64_t steps) {
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(1e-4));
  const int64_t rows = data.x.size(0);
  auto gen = at::detail::createCPUGenerator(7);
  torch::Tensor last_loss;
  Outcome out;
  int64_t done = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (done < steps) {
    model->train();
    const auto perm = torch::randperm(rows, gen, torch::kLong);
    for (int64_t lo = 0; lo < rows && done < steps; lo += batch, ++done) {
      const auto idx = perm.slice(0, lo, std::min(lo + batch, rows));
      opt.zero_grad();
      torch::Tensor loss =
          F::cross_entropy(model->forward(data.x.index_select(0, idx)), data.y.index_select(0, idx));
      loss.backward();
      torch::nn::utils::clip_grad_norm_(model->parameters(), 5.0);
      opt.step();
      last_loss = loss.detach();
    }
    model->eval();
    torch::NoGradGuard no_grad;
    if (holdout) {
      const torch::Tensor scores = model->forward(holdout->x);
      out.holdout_loss = F::cross_entropy(scores, holdout->y).item<double>();
      out.holdout_accuracy = scores.argmax(1).eq(holdout->y).to(torch::kFloat32).mean().item<double>();
    }
    const torch::Tensor train_scores = model->forward(data.x);
    out.train_accuracy = train_scores.argmax(1).eq(data.y).to(torch::kFloat32).mean().item<double>();
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.last_loss = last_loss.item<double>();
  return out;
}

// Every mapped file whose name says BLAS: which OpenBLAS build
// (pthread or OpenMP) the dynamic linker picked for this process.
std::string mapped_blas() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> found;
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash != std::string::npos && line.find("blas", line.rfind('/')) != std::string::npos)
      found.insert(line.substr(slash));
  }
  std::string json;
  for (const auto& path : found) json += (json.empty() ? "\"" : ", \"") + path + "\"";
  return "[" + json + "]";
}

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "libtorch_train: " << why
            << "\nusage: libtorch_train flagship|large --data PATH --steps N [--threads T]\n";
  std::exit(2);
}

int64_t positive(const std::string& flag, const std::string& value) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(value, &used);
  } catch (const std::exception&) {
  }
  if (used != value.size() || v < 1) usage(flag + " " + value + ": expected a positive integer");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name, data_path;
  int64_t steps = 0, threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--data" || arg == "--steps" || arg == "--threads") && i + 1 == argc)
      usage(arg + " needs a value");
    if (arg == "--data")
      data_path = argv[++i];
    else if (arg == "--steps")
      steps = positive(arg, argv[++i]);
    else if (arg == "--threads")
      threads = positive(arg, argv[++i]);
    else if (model_name.empty() && (arg == "flagship" || arg == "large"))
      model_name = arg;
    else
      usage("unexpected argument " + arg);
  }
  if (model_name.empty() || data_path.empty() || steps == 0) usage("MODEL, --data and --steps are required");

  torch::set_num_threads(int(threads));
  torch::manual_seed(7);
  Outcome out;
  try {
    if (model_name == "flagship") {
      Flagship model;
      auto [x, y] = keel_peer::read_digits_csv(data_path);
      // 20% held out at random, as torch_train.py does (its numpy draw picks
      // other rows; the sizes, and so the steps per epoch, are the same).
      const int64_t rows = x.size(0), held = int64_t(std::llround(0.2 * double(rows)));
      const auto order = torch::randperm(rows, at::detail::createCPUGenerator(7), torch::kLong);
      const auto train_rows = order.slice(0, 0, rows - held), held_rows = order.slice(0, rows - held);
      const Split data{x.index_select(0, train_rows), y.index_select(0, train_rows)};
      const Split holdout{x.index_select(0, held_rows), y.index_select(0, held_rows)};
      out = train(model, data, &holdout, 64, steps);
    } else {
      Large model;
      const Split data{keel_peer::read_npy(data_path + "/x.npy", "<f4", torch::kFloat32),
                       keel_peer::read_npy(data_path + "/label.npy", "<i8", torch::kInt64)};
      if (data.x.dim() != 2 || data.x.size(1) != LargeImpl::width || data.y.dim() != 1 ||
          data.y.size(0) != data.x.size(0))
        keel_peer::bad_file(data_path, "expected x.npy [n, 512] and label.npy [n]");
      out = train(model, data, nullptr, 256, steps);
    }
  } catch (const c10::Error& e) {
    std::cerr << "libtorch_train: LibTorch failed: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "libtorch_train: " << e.what() << "\n";
    return 2;
  }
  // A split the model has not (the large model's hold-out) prints as null.
  const auto metric = [](double v) {
    std::ostringstream text;
    text << std::setprecision(6) << v;
    return v < 0 ? std::string("null") : text.str();
  };
  std::cout << std::setprecision(9) << "{\"steps\": " << steps << ", \"seconds\": " << out.seconds
            << ", \"steps_per_s\": " << double(steps) / out.seconds << ", \"threads\": " << threads
            << ", \"loss\": " << out.last_loss << ", \"holdout_loss\": " << metric(out.holdout_loss)
            << ", \"holdout_accuracy\": " << metric(out.holdout_accuracy)
            << ", \"train_accuracy\": " << metric(out.train_accuracy) << ", \"blas\": " << mapped_blas()
            << "}" << std::endl;
  return 0;
}
