// What a guard may have to undo. skip_step: what forward changes (the
// parameters no optimizer trains, such as running statistics), saved before
// each step. rollback: every parameter and the optimizer state after the
// last step on which no guard fired; when the step right after a rollback
// fires again, the state one clean step earlier. A poisoned batch shows in
// its own step's loss, so the state before it is good; a bad update (a
// learning-rate spike) shows only in the next step's, and the step that
// made it looked clean. The copies' buffers are allocated once and reused.
#pragma once

#include <vector>

#include "planner/plan.hpp"
#include "training/checkpoint.hpp"

namespace keel {

class StepUndo {
 public:
  // Saves nothing unless a guard of the run may skip or roll back.
  StepUndo(Plan& plan, const std::vector<OptimizerState>& optimizer_state, bool may_skip, bool may_roll_back);

  void before_step();  // skip_step: remember what forward changes
  void skip();         // restore it
  void good_step();    // rollback: this step is the last good one
  void roll_back();    // restore the last good step, or the one before it

 private:
  std::vector<Tensor*> forward_state_, all_state_;
  bool may_skip_, may_roll_back_;
  std::vector<Tensor> before_step_, last_good_, earlier_good_;
  bool rolled_back_ = false;  // no good step since the last rollback
};

}  // namespace keel
