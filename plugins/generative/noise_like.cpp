// noise_like: random values with one row per row of `like`, e.g. a GAN
// generator's input z = noise_like(pixels). Only like's first dimension is
// read (its values never are), so it takes any dtype and passes no gradient.
#include "generative_ops.hpp"
#include "noise_op.hpp"

namespace keel::generative {
namespace {

class NoiseLikeOp final : public NoiseOpBase {
 public:
  explicit NoiseLikeOp(const Attrs& attrs) : NoiseOpBase("noise_like", attrs) {}

 private:
  Status rows(const InferContext& ctx, Dim& rows) const override {
    const Shape& like = ctx.inputs[0].shape;
    if (like.empty()) return fail("noise_like: like is a scalar; it needs a first (row) dimension");
    rows = like[0];
    return Status::Ok();
  }
};

}  // namespace

OpSchema noise_like_schema() {
  OpSchema s = plugin_util::schema(
      "noise_like",
      "Random f32 [rows, *shape], normal or uniform, with as many rows as like has (e.g. a GAN's z).",
      {{"like", "a tensor of any dtype and rank >= 1; only its first dimension (rows) is read", false}},
      {{"z",
        "f32 [like.shape[0], *shape]; drawn afresh every training step from the graph seed, the node "
        "and the step; in inference from the step the executor passes (0 for keel run), so from "
        "the seed and the node alone"}});
  s.attrs = noise_attrs();
  s.examples = {{.doc = "16 normal latents per image",
                 .attrs = {{"shape", std::vector<std::int64_t>{16}}},
                 .inputs = {{{DType::u8, {kBatch, 1, 8, 8}}, 0.0, 255.0}}},
                {.doc = "uniform on [-1, 1), [2, 3] per row",
                 .attrs = {{"shape", std::vector<std::int64_t>{2, 3}},
                           {"distribution", std::string("uniform")},
                           {"low", -1.0},
                           {"high", 1.0}},
                 .inputs = {{{DType::f32, {kBatch, 4}}}}},
                {.doc = "low above high",
                 .attrs = {{"shape", std::vector<std::int64_t>{4}},
                           {"distribution", std::string("uniform")},
                           {"low", 2.0},
                           {"high", 1.0}},
                 .inputs = {{{DType::f32, {kBatch, 4}}}},
                 .rejects = "low must not exceed high"}};
  return s;
}

std::unique_ptr<Op> noise_like_factory(const Attrs& attrs) { return std::make_unique<NoiseLikeOp>(attrs); }

}  // namespace keel::generative
