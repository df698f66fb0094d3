// Learning-rate schedules against their closed forms (the formulas of
// torch.optim.lr_scheduler's StepLR, CosineAnnealingLR and a linear warm-up).
#include "training/schedule.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <numbers>

using keel::learning_rate;
using keel::ScheduleDef;

TEST_CASE("constant schedule keeps the base rate") {
  ScheduleDef s;
  for (int t : {0, 1, 99}) CHECK(learning_rate(s, 0.1, t, 100) == 0.1);
}

TEST_CASE("step schedule multiplies by gamma every period") {
  ScheduleDef s;
  s.kind = "step";
  s.every = 10;
  s.gamma = 0.5;
  CHECK(learning_rate(s, 0.2, 0, 100) == Approx(0.2));
  CHECK(learning_rate(s, 0.2, 9, 100) == Approx(0.2));
  CHECK(learning_rate(s, 0.2, 10, 100) == Approx(0.1));
  CHECK(learning_rate(s, 0.2, 35, 100) == Approx(0.025));
}

TEST_CASE("cosine schedule goes from the base rate to the floor") {
  ScheduleDef s;
  s.kind = "cosine";
  s.min_lr = 0.01;
  CHECK(learning_rate(s, 0.1, 0, 100) == Approx(0.1));
  CHECK(learning_rate(s, 0.1, 50, 100) == Approx(0.01 + 0.09 * 0.5));
  CHECK(learning_rate(s, 0.1, 25, 100) ==
        Approx(0.01 + 0.09 * 0.5 * (1 + std::cos(std::numbers::pi * 0.25))));
  CHECK(learning_rate(s, 0.1, 100, 100) == Approx(0.01));
}

TEST_CASE("linear warm-up ramps up over the first steps, then the schedule applies") {
  ScheduleDef s;
  s.warmup = 4;
  CHECK(learning_rate(s, 1.0, 0, 100) == Approx(0.25));
  CHECK(learning_rate(s, 1.0, 2, 100) == Approx(0.75));
  CHECK(learning_rate(s, 1.0, 3, 100) == Approx(1.0));
  CHECK(learning_rate(s, 1.0, 50, 100) == Approx(1.0));
}

TEST_CASE("a spike multiplies one step's rate and no other") {
  ScheduleDef s;
  s.kind = "step";
  s.every = 10;
  s.gamma = 0.5;
  s.spike_step = 12;
  s.spike_factor = 1000;
  CHECK(learning_rate(s, 0.2, 11, 100) == Approx(0.1));
  CHECK(learning_rate(s, 0.2, 12, 100) == Approx(100.0));
  CHECK(learning_rate(s, 0.2, 13, 100) == Approx(0.1));
  s.spike_step = -1;  // the default: never
  CHECK(learning_rate(s, 0.2, 12, 100) == Approx(0.1));
}
