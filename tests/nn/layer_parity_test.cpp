// The layer family as a whole: its schemas, and every op against PyTorch on fixtures written by
// tests/parity/make_layer.py (torch.nn.functional on the same inputs).
#include <catch2/catch.hpp>
#include <set>

#include "layer_test_util.hpp"
#include "op_harness.hpp"
#include "parity.hpp"
#include "plugin_ops.hpp"

using namespace optest;
using namespace layertest;

namespace {

struct ParityCase {
  std::string name;
  keel::OpMaker factory;
  keel::Attrs attrs;
  double tol;  // relative and absolute, see below
};

// linear: dot products of <= 8 f32 terms of magnitude ~1, summed in a
// different order by PyTorch's BLAS and oneDNN: rounding differences stay
// within a few 1e-6 of results of magnitude ~3.
constexpr double linear_tol = 1e-5;
// Activations and softmax: both sides round to f32, PyTorch with libm-exact
// exp/erf/tanh, oneDNN with vectorized approximations within about one ulp
// of the inputs' magnitude (|x| < 12 here: ulp 9.5e-7), so 1e-5 has margin.
constexpr double eltwise_tol = 1e-5;
// flatten and reshape move bytes: any difference at all is a bug.
constexpr double copy_tol = 0.0;

std::vector<ParityCase> cases() {
  const auto units = [](std::int64_t n, bool bias) {
    return attrs({{"units", int_attr(n)}, {"bias", AttrValue{bias}}});
  };
  return {
      {"linear_bias", op_maker("linear"), units(5, true), linear_tol},
      {"linear_batched", op_maker("linear"), units(4, true), linear_tol},
      {"linear_nobias", op_maker("linear"), units(3, false), linear_tol},
      {"leaky_relu_default", op_maker("leaky_relu"), {}, eltwise_tol},
      {"leaky_relu_0.2", op_maker("leaky_relu"), attrs({{"negative_slope", AttrValue{0.2}}}), eltwise_tol},
      {"gelu_none", op_maker("gelu"), {}, eltwise_tol},
      {"gelu_tanh", op_maker("gelu"), attrs({{"approximate", AttrValue{std::string("tanh")}}}), eltwise_tol},
      {"tanh", op_maker("tanh"), {}, eltwise_tol},
      {"sigmoid", op_maker("sigmoid"), {}, eltwise_tol},
      {"softmax_last", op_maker("softmax"), {}, eltwise_tol},
      {"softmax_axis1", op_maker("softmax"), attrs({{"axis", int_attr(1)}}), eltwise_tol},
      {"flatten_axis1", op_maker("flatten"), {}, copy_tol},
      {"reshape_wild", op_maker("reshape"), attrs({{"shape", ints_attr({4, -1})}}), copy_tol},
  };
}

Doubles load_double(const std::filesystem::path& dir, const std::string& array) {
  return to_double(parity::load(dir, array));
}

const char* const param_names[] = {"weight", "bias"};

}  // namespace

TEST_CASE("the eight layer ops have a backward and full docs") {
  std::set<std::string> names;
  for (const keel::OpSchema& s :
       {op_schema("linear"), op_schema("leaky_relu"), op_schema("gelu"), op_schema("tanh"),
        op_schema("sigmoid"), op_schema("softmax"), op_schema("flatten"), op_schema("reshape")}) {
    INFO("op " << s.name);
    names.insert(s.name);
    CHECK(s.has_backward);
    CHECK_FALSE(s.doc.empty());
    for (const auto& port : s.inputs) CHECK_FALSE(port.doc.empty());
    for (const auto& port : s.outputs) CHECK_FALSE(port.doc.empty());
    for (const auto& attr : s.attrs) CHECK_FALSE(attr.doc.empty());
    for (const auto& param : s.params) CHECK_FALSE(param.doc.empty());
  }
  CHECK(names == std::set<std::string>{"linear", "leaky_relu", "gelu", "tanh", "sigmoid", "softmax",
                                       "flatten", "reshape"});
}

TEST_CASE("linear declares a required units, a weight drawn he_uniform and a zero bias") {
  const keel::OpSchema s = op_schema("linear");
  REQUIRE(s.attrs.size() == 3);
  CHECK(s.attrs[0].name == "units");
  CHECK_FALSE(s.attrs[0].default_value.has_value());
  CHECK(s.attrs[0].min == 1.0);
  CHECK(s.attrs[1].name == "bias");
  CHECK(std::get<bool>(*s.attrs[1].default_value));
  // The fused activation inference folds a following relu into; none by default.
  CHECK(s.attrs[2].name == "activation");
  CHECK(std::get<std::string>(*s.attrs[2].default_value) == "none");
  CHECK(s.attrs[2].choices == std::vector<std::string>{"none", "relu"});
  REQUIRE(s.params.size() == 2);
  CHECK(s.params[0].name == "weight");
  CHECK(s.params[0].init == keel::Init::HeUniform);
  CHECK(s.params[1].name == "bias");
  CHECK(s.params[1].init == keel::Init::Zeros);
  const keel::OpSchema reshape = op_schema("reshape");
  REQUIRE(reshape.attrs.size() == 1);
  CHECK_FALSE(reshape.attrs[0].default_value.has_value());
}

TEST_CASE("layer ops match PyTorch outputs and gradients") {
  for (const ParityCase& c : cases()) {
    INFO("case " << c.name);
    const auto dir = parity::case_dir("layer", c.name);
    const Floats x = parity::load(dir, "x");
    Harness h(c.factory, c.attrs, {parity::shape(dir, "x")});
    REQUIRE(h.output_shape() == parity::shape(dir, "y"));
    for (std::size_t i = 0; i < h.param_count(); ++i) {
      const std::string p = std::string("param_") + param_names[i];
      REQUIRE(h.param_shape(i) == parity::shape(dir, p));
      h.params()[i] = parity::load(dir, p);
    }
    const Floats y = h.forward({x})[0];
    check_close(y, load_double(dir, "y"), c.tol, c.tol, "y");
    const Floats gx = h.backward({x}, {y}, {parity::load(dir, "grad_y")})[0];
    check_close(gx, load_double(dir, "grad_x"), c.tol, c.tol, "grad_x");
    for (std::size_t i = 0; i < h.param_count(); ++i) {
      const std::string g = std::string("grad_param_") + param_names[i];
      check_close(h.param_grads()[i], load_double(dir, g), c.tol, c.tol, g);
    }
  }
}
