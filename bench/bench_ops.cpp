// Op overhead: each op run through the engine against the same oneDNN
// primitives called directly (raw_ops.hpp).
//
// Forward cases run a one-node graph with Executor::run, so the time
// includes binding, shape inference, buffer reuse and dispatch. Forward +
// backward cases call the node's op object (made and prepared by the engine)
// through the SDK's Op interface, as the executor's training step does.
//
// Prints a JSON array, one object per case, times in ms.
#include <iostream>
#include <optional>
#include <random>
#include <sstream>

#include "bench_util.hpp"
#include "raw_ops.hpp"

namespace keel::bench {
namespace {

Tensor random_tensor(const Shape& shape, unsigned seed) {
  Tensor t(DType::f32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = u(rng);
  return t;
}

struct Input {
  std::string name;
  Shape shape;
};

std::unique_ptr<GraphRun> one_node_graph(const Registry& reg, const std::vector<Input>& inputs,
                                         const std::string& op, const std::string& attrs) {
  std::ostringstream y;
  y << "keel: 1\nname: bench\ninputs:\n";
  std::string refs;
  for (const Input& in : inputs) {
    y << "  " << in.name << ": {dtype: f32, shape: [";
    for (std::size_t d = 0; d < in.shape.size(); ++d) y << (d ? ", " : "") << in.shape[d];
    y << "]}\n";
    refs += (refs.empty() ? "" : ", ") + in.name;
  }
  y << "nodes:\n  - {name: n, op: " << op << ", inputs: [" << refs << "]"
    << (attrs.empty() ? "" : ", attrs: {" + attrs + "}") << "}\noutputs: [n]\n";
  return std::make_unique<GraphRun>(y.str(), reg);
}

std::vector<Tensor> random_inputs(const std::vector<Input>& inputs) {
  std::vector<Tensor> out;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    out.push_back(random_tensor(inputs[i].shape, unsigned(i + 1)));
  return out;
}

void check(const Status& s, const char* what) {
  if (!s.ok()) throw std::runtime_error(std::string(what) + ": " + s.message());
}

// The single node of a graph, prepared for training by the engine, driven
// forward then backward through keel::Op with every gradient requested.
class SdkTrainingStep {
 public:
  SdkTrainingStep(GraphRun& g, const std::vector<Tensor>& inputs) : inputs_(inputs) {
    g.run(inputs_, true);  // binds, prepares the op for training, initializes parameters
    PlannedNode& node = g.plan().nodes()[0];
    op_ = &*node.op;
    const Shape& y_shape = g.plan().values()[std::size_t(node.outputs[0])].shape;
    y_ = Tensor(DType::f32, y_shape);
    gy_ = random_tensor(y_shape, 99);
    for (const Tensor& t : inputs_) gx_.emplace_back(DType::f32, t.shape());
    for (int p : node.params) {
      params_.push_back(g.plan().params()[std::size_t(p)].value);
      gp_.emplace_back(DType::f32, params_.back().shape());
    }
    // Views point into the tensors above, which no longer move.
    for (const Tensor& t : inputs_) in_.push_back(t.view());
    for (Tensor& t : gx_) gin_.push_back(t.view());
    for (Tensor& t : params_) p_.push_back(t.view()), cp_.push_back(std::as_const(t).view());
    for (Tensor& t : gp_) gp_views_.push_back(t.view());
    out_ = {y_.view()};
    cout_ = {std::as_const(y_).view()};
    gout_ = {std::as_const(gy_).view()};
    fwd_ = {in_, out_, p_, true, 0, 0};
    bwd_ = {in_, cout_, cp_, gout_, gin_, gp_views_, 0, 0};
  }
  // The single input's buffers, for a raw variant that runs on the same memory.
  raw::BatchNormBuffers buffers() { return {inputs_.at(0).data(), gy_.data(), y_.data(), gx_.at(0).data()}; }
  void operator()() {
    check(op_->forward(fwd_), "forward");
    check(op_->backward(bwd_), "backward");
  }

 private:
  Op* op_ = nullptr;
  std::vector<Tensor> inputs_, gx_, params_, gp_;
  Tensor y_, gy_;
  std::vector<ConstTensorView> in_, cout_, cp_, gout_;
  std::vector<TensorView> out_, p_, gin_, gp_views_;
  ForwardContext fwd_;
  BackwardContext bwd_;
};

struct Result {
  std::string id, op, shape, mode;
  double engine_ms, raw_ms;
  std::optional<double> raw_naive_ms;
};

int rounds = 15;

Result forward_case(const Registry& reg, std::string id, std::string shape, const std::vector<Input>& ins,
                    const std::string& op, const std::string& attrs, std::function<void()> raw) {
  auto g = one_node_graph(reg, ins, op, attrs);
  const std::vector<Tensor> inputs = random_inputs(ins);
  const auto t = compare({{"engine", [&] { g->run(inputs); }}, {"raw", std::move(raw)}}, rounds);
  return {std::move(id), op, std::move(shape), "fwd", t[0] * 1e3, t[1] * 1e3, std::nullopt};
}

Result training_case(const Registry& reg, std::string id, std::string shape, const std::vector<Input>& ins,
                     const std::string& op, const std::string& attrs, std::function<void()> raw) {
  auto g = one_node_graph(reg, ins, op, attrs);
  SdkTrainingStep step(*g, random_inputs(ins));
  const auto t = compare({{"engine", std::ref(step)}, {"raw", std::move(raw)}}, rounds);
  return {std::move(id), op, std::move(shape), "fwd+bwd", t[0] * 1e3, t[1] * 1e3, std::nullopt};
}

// Batch norm also reports oneDNN on the plain layout (nc / nchw), which is
// what a naive binding gets, to show what the plugin's layout choice buys.
Result batchnorm_case(const Registry& reg, std::string id, std::string shape, const Shape& x) {
  using raw::tag;
  const raw::dims d(x.begin(), x.end());
  const bool spatial = x.size() == 4;
  const dnnl::memory::desc user(d, raw::f32, spatial ? tag::nchw : tag::nc);
  // The plugin's choice: [N, C] as an [N, C, 1, 1] nhwc view (C % 16 == 0),
  // images reordered into nChw16c.
  const dnnl::memory::desc fast = spatial ? dnnl::memory::desc(d, raw::f32, tag::nChw16c)
                                          : dnnl::memory::desc({x[0], x[1], 1, 1}, raw::f32, tag::nhwc);
  auto g = one_node_graph(reg, {{"x", x}}, "batchnorm", "");
  SdkTrainingStep step(*g, random_inputs({{"x", x}}));
  const raw::BatchNormBuffers shared = step.buffers();
  raw::BatchNorm raw_fast(spatial ? user : fast, fast, &shared);
  const auto t = compare({{"engine", std::ref(step)}, {"raw", [&] { raw_fast.forward_backward(); }}}, rounds);
  Result r{std::move(id), "batchnorm", std::move(shape), "fwd+bwd", t[0] * 1e3, t[1] * 1e3, std::nullopt};
  raw::BatchNorm naive(user, user);
  r.raw_naive_ms =
      compare({{"raw naive", [&] { naive.forward_backward(); }}}, std::max(3, rounds / 5), 0.0)[0] * 1e3;
  return r;
}

void print(const std::vector<Result>& results) {
  std::printf("[\n");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    std::printf(
        "  {\"id\": \"%s\", \"op\": \"%s\", \"shape\": \"%s\", \"mode\": \"%s\", \"engine_ms\": %.6g, "
        "\"raw_ms\": %.6g",
        r.id.c_str(), r.op.c_str(), r.shape.c_str(), r.mode.c_str(), r.engine_ms, r.raw_ms);
    if (r.raw_naive_ms) std::printf(", \"raw_naive_ms\": %.6g", *r.raw_naive_ms);
    std::printf("}%s\n", i + 1 < results.size() ? "," : "");
  }
  std::printf("]\n");
}

void run_all() {
  auto reg = load_registry();
  std::vector<Result> out;
  auto progress = [&] {
    std::fprintf(stderr, "  %s %s done\n", out.back().id.c_str(), out.back().mode.c_str());
  };

  raw::Linear lin_big(256, 512, 512, true), lin_small(64, 64, 128, false);
  out.push_back(forward_case(*reg, "linear_256x512_512", "[256,512] x 512 units", {{"x", {256, 512}}},
                             "linear", "units: 512", [&] { lin_big.forward(); }));
  progress();
  out.push_back(forward_case(*reg, "linear_64x64_128", "[64,64] x 128 units", {{"x", {64, 64}}}, "linear",
                             "units: 128", [&] { lin_small.forward(); }));
  progress();
  out.push_back(training_case(*reg, "linear_256x512_512", "[256,512] x 512 units", {{"x", {256, 512}}},
                              "linear", "units: 512", [&] { lin_big.forward_backward(); }));
  progress();
  out.push_back(batchnorm_case(*reg, "batchnorm_32x64x56x56", "NCHW [32,64,56,56]", {32, 64, 56, 56}));
  progress();
  out.push_back(batchnorm_case(*reg, "batchnorm_4096x1024", "NC [4096,1024]", {4096, 1024}));
  progress();

  raw::Residual res_id(256, 512, 512), res_proj(256, 512, 256);
  out.push_back(forward_case(*reg, "residual_identity", "[256,512] + [256,512]",
                             {{"branch", {256, 512}}, {"skip", {256, 512}}}, "residual", "",
                             [&] { res_id.forward(); }));
  progress();
  out.push_back(forward_case(*reg, "residual_projection", "[256,512] + proj([256,256])",
                             {{"branch", {256, 512}}, {"skip", {256, 256}}}, "residual", "",
                             [&] { res_proj.forward(); }));
  progress();

  const Shape img{32, 64, 56, 56};
  const std::string conv_attrs = "filters: 64, kernel: [3], padding: [1]";
  {
    raw::Conv conv({32, 64, 56, 56}, 64, 3, 1, false);
    out.push_back(forward_case(*reg, "conv2d_32x64x56x56", "[32,64,56,56], 64 3x3 pad 1", {{"x", img}},
                               "conv2d", conv_attrs, [&] { conv.forward(); }));
    progress();
  }
  {
    raw::Conv conv({32, 64, 56, 56}, 64, 3, 1, true);
    out.push_back(training_case(*reg, "conv2d_32x64x56x56", "[32,64,56,56], 64 3x3 pad 1", {{"x", img}},
                                "conv2d", conv_attrs, [&] { conv.forward_backward(); }));
    progress();
  }
  print(out);
}

}  // namespace
}  // namespace keel::bench

int main(int argc, char** argv) {
  return keel::bench::bench_main("bench_ops", argc, argv, [](bool quick) {
    if (quick) keel::bench::rounds = 3;
    keel::bench::run_all();
  });
}
