// The key tables themselves (graph/format_keys.hpp): well formed, and every
// initializer they name is one the parser takes. That the parser, --set and
// keel schema agree with them is tests/cli/format_keys_test.cpp's.
#include "graph/format_keys.hpp"

#include <catch2/catch.hpp>
#include <set>

#include "graph/parse.hpp"

using namespace keel::format;

namespace {

const Mapping* const kAll[] = {&top_keys(),        &input_keys(),  &node_keys(),      &train_keys(),
                               &data_keys(),       &source_keys(), &optimizer_keys(), &schedule_keys(),
                               &checkpoint_keys(), &encrypt_keys()};

}  // namespace

TEST_CASE("every key table is well formed") {
  for (const Mapping* m : kAll) {
    INFO("mapping '" << m->path << "'");
    std::set<std::string_view> names;
    for (const Key& k : m->keys) {
      INFO("key " << k.name);
      CHECK(names.insert(k.name).second);  // no key twice
      CHECK_FALSE(k.doc.empty());          // keel schema's description
      CHECK((k.value == Value::mapping) == (k.table != nullptr));
      CHECK((k.value == Value::choice) == !k.choices.empty());
      CHECK(m->find(k.name) == &k);
    }
    // Exactly one of several keys cannot be required of any one of them.
    if (m->exactly_one)
      for (const Key& k : m->keys) CHECK_FALSE(k.required);
    CHECK((m->where.empty()) == (m == &input_keys()));  // the input's error names the input instead
  }
}

TEST_CASE("the settable mappings are train and those under it that hold plain keys") {
  std::vector<std::string> paths;
  for (const auto& [path, m] : settable_mappings()) {
    paths.push_back(path);
    CHECK(m->settable);
  }
  CHECK(paths ==
        std::vector<std::string>{"", "data", "optimizer", "optimizer.schedule", "checkpoint", "distributed"});
}

TEST_CASE("every initializer the table names parses, with and without its numbers") {
  for (const Initializer& i : initializers()) {
    std::string numbers;
    for (std::size_t n = 0; n < i.count; ++n) numbers += (n ? ", " : "") + std::to_string(n + 1);
    std::vector<std::string> texts;
    if (!i.needs_args) texts.emplace_back(i.name);
    if (i.count > 0) texts.push_back(std::string(i.name) + "(" + numbers + ")");
    for (const std::string& text : texts) {
      INFO(text);
      const auto g = keel::parse_graph_text(
          "keel: 1\ninputs: {x: {dtype: f32, shape: [4]}}\n"
          "nodes: [{name: y, op: fixture, inputs: [x], init: {w: \"" +
              text + "\"}}]\noutputs: [y]\n",
          "init.yaml");
      REQUIRE(g.nodes.size() == 1);
      CHECK(g.nodes[0].init.at("w").kind == i.name);
      CHECK(g.nodes[0].init.at("w").args.size() == (text.find('(') == std::string::npos ? 0 : i.count));
    }
  }
  CHECK(
      initializer_list() ==
      "zeros, ones, constant(v), normal(std), uniform(a, b), xavier, xavier_normal, kaiming, kaiming_normal");
}
