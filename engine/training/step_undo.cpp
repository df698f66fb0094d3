#include "training/step_undo.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace keel {

namespace {

void snapshot(const std::vector<Tensor*>& tensors, std::vector<Tensor>& saved) {
  if (saved.size() != tensors.size()) {
    saved.clear();
    for (const Tensor* t : tensors) saved.push_back(t->clone());
    return;
  }
  for (std::size_t i = 0; i < tensors.size(); ++i)
    std::copy_n(static_cast<const std::byte*>(tensors[i]->data()), tensors[i]->nbytes(),
                static_cast<std::byte*>(saved[i].data()));
}

void restore(const std::vector<Tensor*>& tensors, const std::vector<Tensor>& saved) {
  for (std::size_t i = 0; i < tensors.size(); ++i)
    std::copy_n(static_cast<const std::byte*>(saved[i].data()), saved[i].nbytes(),
                static_cast<std::byte*>(tensors[i]->data()));
}

}  // namespace

StepUndo::StepUndo(Plan& plan, const std::vector<OptimizerState>& optimizer_state, bool may_skip,
                   bool may_roll_back)
    : may_skip_(may_skip || may_roll_back), may_roll_back_(may_roll_back) {
  for (auto& p : plan.params()) {
    all_state_.push_back(&p.value);
    if (!p.spec.trainable) forward_state_.push_back(&p.value);
  }
  for (const auto& s : optimizer_state) all_state_.push_back(s.tensor);
  if (may_roll_back_) {
    snapshot(all_state_, last_good_);
    snapshot(all_state_, earlier_good_);
  }
}

void StepUndo::before_step() {
  if (may_skip_) snapshot(forward_state_, before_step_);
}

void StepUndo::skip() { restore(forward_state_, before_step_); }

void StepUndo::good_step() {
  if (!may_roll_back_) return;
  std::swap(earlier_good_, last_good_);  // the older copy's buffers take the new state
  snapshot(all_state_, last_good_);
  rolled_back_ = false;
}

void StepUndo::roll_back() {
  if (!rolled_back_) {
    restore(all_state_, last_good_);
  } else {
    // The state restored last time failed again: the update that produced
    // it was the bad one (a bad update shows in the next step's loss, not
    // its own), so go back one more clean step, and stay there.
    restore(all_state_, earlier_good_);
    snapshot(all_state_, last_good_);
  }
  rolled_back_ = true;
}

}  // namespace keel
