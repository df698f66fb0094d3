// stop_gradient, concat, split and full_like in whole graphs trained by
// `keel run`: the two steps of a GAN, with batches of 4 and then 2 rows and
// a hold-out of 2 evaluated at once, so concat and split see several sizes
// of the named batch dimension. In the
// discriminator's step the generator sits behind stop_gradient and must not
// move while the discriminator does; in the generator's step gradients
// flow through concat and split into the generator. The checkpoint written
// before training (train.steps=0) and after it tell which parameters moved.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "cli_util.hpp"
#include "runtime/safetensors.hpp"

using namespace keel;
using namespace keel::test;

namespace {

std::string describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// Random rows: three "real" features and two noise values each.
const char* kData =
    "0.5,-0.2,0.9,0.1,-0.7\n"
    "-0.3,0.8,0.4,-0.6,0.2\n"
    "0.7,0.1,-0.5,0.3,0.9\n"
    "-0.9,-0.4,0.6,-0.1,-0.3\n"
    "0.2,0.6,-0.8,0.8,0.5\n"
    "0.4,-0.9,0.3,-0.4,0.6\n"
    "-0.6,0.3,-0.1,0.7,-0.8\n"
    "0.9,0.5,0.2,-0.9,0.4\n";

// `fake` is the generator's output as the discriminator sees it; `targets`
// and `train_extra` differ between the two steps.
std::string gan_graph(const std::string& fake, const std::string& loss_node, const std::string& train_extra) {
  return R"(keel: 1
seed: 5
inputs:
  real: {dtype: f32, shape: [batch, 3]}
  z: {dtype: f32, shape: [batch, 2]}
nodes:
  - {name: gen, op: linear, inputs: [z], attrs: {units: 3}}
  - {name: fake, op: )" +
         fake + R"(, inputs: [gen]}
  - {name: both, op: concat, inputs: [real, fake]}
  - {name: disc, op: linear, inputs: [both], attrs: {units: 1}}
  - {name: halves, op: split, inputs: [disc]}
  - {name: ones, op: full_like, inputs: [halves.a], attrs: {value: 1.0}}
  - {name: zeros, op: full_like, inputs: [halves.b]}
  - {name: targets, op: concat, inputs: [ones, zeros]}
  - {name: d_loss, op: bce_with_logits, inputs: [disc, targets]}
  - {name: fooled, op: full_like, inputs: [halves.b], attrs: {value: 1.0}}
  - {name: g_loss, op: bce_with_logits, inputs: [halves.b, fooled]}
outputs: [d_loss, g_loss]
train:
  loss: )" +
         loss_node +
         R"(
  data: {csv: [data.csv], columns: {real: "0:3", z: "3:5"}, header: false, batch: 4, holdout: 0.25}
  epochs: 5
  optimizer: {op: sgd, lr: 0.5}
  checkpoint: {path: model.ckpt}
  report: false
)" + train_extra;
}

// The parameters in DIR/model.ckpt after `keel run` with `extra` arguments.
TensorFile trained(const TempDir& dir, const std::string& graph, const std::string& out,
                   std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"run", (dir / graph).string(), "-o", (dir / out).string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const ProcessResult r = run_keel(args);
  INFO(describe(r));
  REQUIRE(r.exit_code == 0);
  return read_safetensors(dir / out / "model.ckpt");
}

bool same_values(const TensorFile& a, const TensorFile& b, const std::string& name) {
  const Tensor* x = a.find(name);
  const Tensor* y = b.find(name);
  REQUIRE(x != nullptr);
  REQUIRE(y != nullptr);
  REQUIRE(x->nbytes() == y->nbytes());
  return std::memcmp(x->data(), y->data(), x->nbytes()) == 0;
}

}  // namespace

TEST_CASE(
    "in a GAN's discriminator step, stop_gradient keeps the generator still while the discriminator "
    "trains") {
  TempDir dir;
  dir.write("data.csv", kData);
  dir.write("d_step.yaml", gan_graph("stop_gradient", "d_loss", ""));
  const TensorFile before = trained(dir, "d_step.yaml", "init", {"--set", "train.steps=0"});
  const TensorFile after = trained(dir, "d_step.yaml", "trained");
  CHECK(same_values(before, after, "gen.weight"));
  CHECK(same_values(before, after, "gen.bias"));
  CHECK_FALSE(same_values(before, after, "disc.weight"));
  CHECK_FALSE(same_values(before, after, "disc.bias"));
}

TEST_CASE("in a GAN's generator step, gradients reach the generator through concat and split") {
  TempDir dir;
  dir.write("data.csv", kData);
  // The identity in place of stop_gradient, and the discriminator frozen.
  dir.write("g_step.yaml", gan_graph("reshape, attrs: {shape: [-1, 3]}", "g_loss", "  freeze: [disc]\n"));
  const TensorFile before = trained(dir, "g_step.yaml", "init", {"--set", "train.steps=0"});
  const TensorFile after = trained(dir, "g_step.yaml", "trained");
  CHECK_FALSE(same_values(before, after, "gen.weight"));
  CHECK_FALSE(same_values(before, after, "gen.bias"));
  CHECK(same_values(before, after, "disc.weight"));
}

TEST_CASE("a loss that reaches parameters only through stop_gradient is refused as depending on none") {
  TempDir dir;
  dir.write("data.csv", kData);
  // g_loss sees the generator only through stop_gradient, and disc is frozen.
  dir.write("g_step.yaml", gan_graph("stop_gradient", "g_loss", "  freeze: [disc]\n"));
  const ProcessResult r = run_keel({"run", (dir / "g_step.yaml").string(), "-o", (dir / "out").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("the loss does not depend on any trainable parameter") != std::string::npos);
}

TEST_CASE("keel validate refuses concat of a named batch and a fixed size, naming the node") {
  TempDir dir;
  const std::string graph = R"(keel: 1
inputs:
  real: {dtype: f32, shape: [batch, 3]}
  fake: {dtype: f32, shape: [4, 3]}
nodes:
  - {name: both, op: concat, inputs: [real, fake]}
outputs: [both]
)";
  dir.write("g.yaml", graph);
  const ProcessResult r = run_keel({"validate", (dir / "g.yaml").string()});
  INFO(describe(r));
  CHECK(r.exit_code == 2);
  CHECK(
      r.first_err_line() ==
      "keel: error: " + (dir / "g.yaml").string() +
          ":6:5: concat: a is [?, 3] and b is [4, 3]; along axis 0 a named size can only be joined with the "
          "same named size (batch and batch), not with a fixed or another named size (node 'both', op "
          "'concat', plugin 'nn')");
}
