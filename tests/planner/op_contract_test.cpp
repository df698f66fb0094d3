// The guarantees of keel/op.hpp, held against the planner and executor: a
// test op records every call it gets while a graph trains, evaluates and
// changes shape, and the log must show span sizes equal to the schema's, one
// prepare per object before its forwards, forward in the prepared mode,
// backward only after the same object's forward of the same step, and no
// object called from two threads at once.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>

#include "executor/executor.hpp"
#include "graph/parse.hpp"
#include "graph/validate.hpp"
#include "planner/autodiff.hpp"
#include "test_registry.hpp"

using namespace keel;

namespace {

enum class Call { prepare, prepare_failed, forward, backward };

struct Event {
  std::uint64_t who;  // the op object's serial number (an address may be reused)
  Call call;
  bool training;
  std::uint64_t step;
};

// Shared by every op object; ops of independent nodes may log at once.
struct Log {
  std::mutex mu;
  std::vector<Event> events;
  std::vector<std::string> violations;
  void add(const Event& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  }
  void violation(std::string what) {
    std::lock_guard lock(mu);
    violations.push_back(std::move(what));
  }
};
Log g_log;

// y = x + w (w broadcast over the last axis). Its prepare fails for a batch
// of 7, to show that a failed prepare is not retried on the same object.
class Recorder final : public Op {
 public:
  explicit Recorder(const Attrs&) {}

  Status infer(InferContext& ctx) const override {
    if (ctx.inputs.size() != 1) g_log.violation("infer: inputs");
    ctx.outputs = {ctx.inputs[0]};
    ctx.param_shapes = {{ctx.inputs[0].shape.back()}};
    return {};
  }

  Status prepare(const PrepareContext& ctx) override {
    Busy busy(this);
    if (ctx.inputs.size() != 1 || ctx.outputs.size() != 1 || ctx.params.size() != 1)
      g_log.violation("prepare: span sizes");
    training_ = ctx.training;
    if (!ctx.inputs.empty() && ctx.inputs[0].shape[0] == 7) {
      g_log.add({id_, Call::prepare_failed, ctx.training, 0});
      return fail("no batches of 7");
    }
    g_log.add({id_, Call::prepare, ctx.training, 0});
    return {};
  }

  Status forward(const ForwardContext& ctx) override {
    Busy busy(this);
    if (ctx.inputs.size() != 1 || ctx.outputs.size() != 1 || ctx.params.size() != 1)
      g_log.violation("forward: span sizes");
    if (ctx.training != training_) g_log.violation("forward: another mode than prepared");
    const float* x = ctx.inputs[0].as<float>();
    const float* w = ctx.params[0].as<float>();
    float* y = ctx.outputs[0].as<float>();
    const std::int64_t n = ctx.inputs[0].numel(), c = ctx.params[0].numel();
    for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] + w[i % c];
    g_log.add({id_, Call::forward, ctx.training, ctx.step});
    return {};
  }

  Status backward(const BackwardContext& ctx) override {
    Busy busy(this);
    if (ctx.inputs.size() != 1 || ctx.outputs.size() != 1 || ctx.params.size() != 1 ||
        ctx.grad_outputs.size() != 1 || ctx.grad_inputs.size() != 1 || ctx.grad_params.size() != 1)
      g_log.violation("backward: span sizes");
    if (!training_) g_log.violation("backward: prepared for inference");
    const float* gy = ctx.grad_outputs[0].as<float>();
    const std::int64_t n = ctx.grad_outputs[0].numel(), c = ctx.grad_params[0].numel();
    if (float* gx = ctx.grad_inputs[0].as<float>())
      for (std::int64_t i = 0; i < n; ++i) gx[i] = gy[i];
    if (float* gw = ctx.grad_params[0].as<float>()) {
      for (std::int64_t j = 0; j < c; ++j) gw[j] = 0;
      for (std::int64_t i = 0; i < n; ++i) gw[i % c] += gy[i];
    }
    g_log.add({id_, Call::backward, true, ctx.step});
    return {};
  }

 private:
  // Marks the object in use for the length of a call: a second thread
  // entering it meanwhile is a violation.
  struct Busy {
    explicit Busy(Recorder* op) : op_(op) {
      if (op_->busy_.exchange(true)) g_log.violation("two threads in one op object");
    }
    ~Busy() { op_->busy_ = false; }
    Recorder* op_;
  };

  bool training_ = false;
  std::atomic<bool> busy_{false};
  static inline std::atomic<std::uint64_t> next_id_{0};
  const std::uint64_t id_ = next_id_++;
};

Registry test_registry() {
  OpSchema rec{"rec", "records its calls", {{"x", ""}}, {{"y", ""}}, {}, {{"w", "", Init::Zeros}}, true};
  return plantest::registry_of("contract", {{rec, make_op<Recorder>, {}}});
}

// Two independent branches, so a parallel scheduler may run them at once.
const char* kGraph = R"(keel: 1
inputs:
  x: {dtype: f32, shape: [batch, 3]}
nodes:
  - {name: a, op: rec, inputs: [x]}
  - {name: b, op: rec, inputs: [x]}
  - {name: c, op: rec, inputs: [a]}
  - {name: d, op: rec, inputs: [b]}
outputs: [c, d]
)";

Tensor batch(Dim n) {
  Tensor t(DType::f32, {n, 3});
  for (std::int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = float(i % 5) - 2;
  return t;
}

// Replays the log per op object and checks the lifecycle of op.hpp.
void check_lifecycle(const std::vector<Event>& events) {
  struct State {
    int prepares = 0;
    bool failed = false, training = false;
    bool forwarded = false;  // a forward since the last backward
    std::uint64_t forward_step = 0;
  };
  std::map<std::uint64_t, State> objects;
  for (const Event& e : events) {
    State& s = objects[e.who];
    switch (e.call) {
      case Call::prepare:
      case Call::prepare_failed:
        CHECK(s.prepares == 0);
        ++s.prepares;
        s.failed = e.call == Call::prepare_failed;
        s.training = e.training;
        break;
      case Call::forward:
        CHECK(s.prepares == 1);
        CHECK_FALSE(s.failed);
        CHECK(e.training == s.training);
        s.forwarded = true;
        s.forward_step = e.step;
        break;
      case Call::backward:
        CHECK(s.training);
        CHECK(s.forwarded);
        CHECK(s.forward_step == e.step);
        s.forwarded = false;
        break;
    }
  }
}

}  // namespace

TEST_CASE("the engine calls ops in the order op.hpp promises, with spans of the schema's sizes") {
  for (int threads : {1, 3}) {
    INFO("threads " << threads);
    g_log.events.clear();
    g_log.violations.clear();
    Registry reg = test_registry();
    ValidatedGraph g = validate_graph(parse_graph_text(kGraph, "g.yaml"), reg);
    Plan plan(g, reg);
    plan.infer_symbolic();
    std::unique_ptr<Scheduler> scheduler;
    if (threads > 1) scheduler = std::make_unique<ParallelScheduler>(threads);
    Executor exec(plan, std::move(scheduler));
    // Only c's output as the loss: d's branch is forward-only in training.
    const GradientPlan grads = plan_gradients(plan, plan.output_slots()[0], {});

    // A failed first prepare, then training, evaluation, another batch size
    // and back: every switch is a binding of its own.
    CHECK_THROWS_WITH(exec.train_step({batch(7)}, grads), Catch::Contains("no batches of 7"));
    for (int i = 0; i < 3; ++i) exec.train_step({batch(4)}, grads);
    exec.run({batch(4)});
    exec.train_step({batch(5)}, grads);
    CHECK_THROWS(exec.run({batch(7)}));
    exec.train_step({batch(4)}, grads);
    exec.run({batch(4)});

    CHECK(g_log.violations.empty());
    for (const auto& v : g_log.violations) UNSCOPED_INFO(v);
    check_lifecycle(g_log.events);
    int backwards = 0;
    for (const Event& e : g_log.events) backwards += e.call == Call::backward;
    CHECK(backwards == 5 * 2);  // a and c, in each of five training steps
  }
}
