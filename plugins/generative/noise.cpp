// noise: random values for graphs that have no data to be "like", such as
// a generator's sampling graph (`keel run gan_sample.yaml --params gan.ckpt
// --set seed=3 --set z.count=100`). The rows come from the count attribute.
#include <cstdint>

#include "generative_ops.hpp"
#include "noise_op.hpp"

namespace keel::generative {
namespace {

class NoiseOp final : public NoiseOpBase {
 public:
  explicit NoiseOp(const Attrs& attrs) : NoiseOpBase("noise", attrs), count_(attrs.i("count")) {}

 private:
  Status rows(const InferContext&, Dim& rows) const override {
    if (count_ < 0) return fail("noise: count is ", count_, "; it must be at least 0");
    rows = count_;
    return Status::Ok();
  }

  Dim count_;
};

}  // namespace

OpSchema noise_schema() {
  OpSchema s = plugin_util::schema(
      "noise", "Random f32 [count, *shape], normal or uniform, from no input (e.g. a sampling graph's z).",
      {},
      {{"z",
        "f32 [count, *shape]; drawn afresh every training step from the graph seed, the node and the "
        "step; in inference from the step the executor passes (0 for keel run), so from the seed "
        "(--set seed=N) and the node alone"}});
  s.attrs = noise_attrs();
  s.attrs.insert(s.attrs.begin(), AttrSpec{.name = "count",
                                           .type = AttrType::Int,
                                           .doc = "number of rows (samples) to draw",
                                           .default_value = AttrValue{std::int64_t{64}},
                                           .min = 0.0,
                                           .max = double(kMaxNoiseElements)});
  s.examples = {{.doc = "8 rows of 16 normal latents",
                 .attrs = {{"count", std::int64_t{8}}, {"shape", std::vector<std::int64_t>{16}}}},
                {.doc = "uniform on [0, 1), no rows",
                 .attrs = {{"count", std::int64_t{0}},
                           {"shape", std::vector<std::int64_t>{3}},
                           {"distribution", std::string("uniform")}}}};
  return s;
}

std::unique_ptr<Op> noise_factory(const Attrs& attrs) { return std::make_unique<NoiseOp>(attrs); }

}  // namespace keel::generative
