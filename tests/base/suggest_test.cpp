#include "base/suggest.hpp"

#include <catch2/catch.hpp>

using keel::did_you_mean;
using keel::edit_distance;

TEST_CASE("edit distance counts insertions, deletions and substitutions") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("lienar", "linear") == 1);
  CHECK(edit_distance("rleu", "relu") == 1);
}

TEST_CASE("did-you-mean suggests close names and stays quiet otherwise") {
  std::vector<std::string> ops{"linear", "relu", "matmul", "add"};
  CHECK(did_you_mean("lienar", ops) == " (did you mean 'linear'?)");
  CHECK(did_you_mean("rleu", ops) == " (did you mean 'relu'?)");
  CHECK(did_you_mean("convolution", ops).empty());
}
