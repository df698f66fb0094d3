// Dispatch overhead per node: graphs of 100,000 bench_noop nodes (a chain,
// and a fan-out where every node reads the graph input) run with
// Executor::run with one and with two inter-op threads, against the floor: a bare loop calling the same op
// objects' forward with contexts built beforehand. The difference is what the engine spends per node
// (binding, shape inference, views, scheduling).
//
// Prints a JSON array, one object per graph, times in µs per node.
#include <sstream>

#include "bench_util.hpp"

namespace keel::bench {
namespace {

std::string noop_graph(int nodes, bool chain) {
  std::ostringstream y;
  y << "keel: 1\nname: dispatch\ninputs:\n  x: {dtype: f32, shape: [1]}\nnodes:\n";
  for (int i = 0; i < nodes; ++i)
    y << "  - {name: n" << i << ", op: bench_noop, inputs: ["
      << (chain && i ? "n" + std::to_string(i - 1) : "x") << "]}\n";
  y << "outputs: [n" << nodes - 1 << "]\n";
  return y.str();
}

// Every node's forward called in plan order with prebuilt contexts: the
// cost of the virtual calls alone, nothing the engine adds.
class BareLoop {
 public:
  explicit BareLoop(Plan& plan) : plan_(plan) {
    const auto& specs = plan.values();
    for (const auto& s : specs) values_.emplace_back(s.dtype, s.shape);
    for (const PlannedNode& n : plan.nodes()) {
      in_.push_back({std::as_const(values_[std::size_t(n.inputs[0])]).view()});
      out_.push_back({values_[std::size_t(n.outputs[0])].view()});
    }
    for (std::size_t i = 0; i < in_.size(); ++i) ctx_.push_back({in_[i], out_[i], {}, false, 0, 0});
  }
  void operator()() {
    auto& nodes = plan_.nodes();
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (!nodes[i].op->forward(ctx_[i]).ok()) throw std::runtime_error("bench_noop failed");
  }

 private:
  Plan& plan_;
  std::vector<Tensor> values_;
  std::vector<std::vector<ConstTensorView>> in_;
  std::vector<std::vector<TensorView>> out_;
  std::vector<ForwardContext> ctx_;
};

struct Result {
  std::string graph;
  int nodes, inter_op;
  double engine_us, floor_us, build_s;
};

Result measure(const Registry& reg, const std::string& name, int nodes, bool chain, int inter_op,
               int rounds) {
  const auto t0 = Clock::now();
  GraphRun g(noop_graph(nodes, chain), reg, inter_op);
  const double build_s = seconds_since(t0);
  const std::vector<Tensor> inputs{Tensor(DType::f32, {1})};
  g.run(inputs);  // binds and prepares once, as the first step of any run does
  BareLoop bare(g.plan());
  const auto t = compare({{"engine", [&] { g.run(inputs); }}, {"floor", std::ref(bare)}}, rounds);
  return {name, nodes, inter_op, t[0] / nodes * 1e6, t[1] / nodes * 1e6, build_s};
}

void run_all(int rounds) {
  auto reg = load_registry({KEEL_BENCH_NOOP_PLUGINS});
  const int n = 100000;
  std::vector<Result> out;
  for (int inter_op : {1, 2}) {
    out.push_back(measure(*reg, "chain", n, true, inter_op, rounds));
    out.push_back(measure(*reg, "fan-out", n, false, inter_op, rounds));
  }
  std::printf("[\n");
  for (std::size_t i = 0; i < out.size(); ++i)
    std::printf(
        "  {\"graph\": \"%s\", \"nodes\": %d, \"inter_op\": %d, \"engine_us\": %.4g, \"floor_us\": %.4g, "
        "\"build_s\": %.3g}%s\n",
        out[i].graph.c_str(), out[i].nodes, out[i].inter_op, out[i].engine_us, out[i].floor_us,
        out[i].build_s, i + 1 < out.size() ? "," : "");
  std::printf("]\n");
}

}  // namespace
}  // namespace keel::bench

int main(int argc, char** argv) {
  return keel::bench::bench_main("bench_dispatch", argc, argv,
                                 [](bool quick) { keel::bench::run_all(quick ? 3 : 15); });
}
