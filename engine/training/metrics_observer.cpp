#include "training/metrics_observer.hpp"

#include <string>
#include <system_error>

#include "base/error.hpp"
#include "base/json.hpp"

namespace keel {

namespace {

// ,"phases":{"NAME":{"train_loss":..,"holdout_loss":..},...} with several
// objectives; nothing with one.
std::string phases_json(const std::vector<PhaseEpoch>& phases) {
  if (phases.empty()) return "";
  std::string out = ",\"phases\":{";
  for (const PhaseEpoch& p : phases)
    out += (&p == &phases.front() ? "\"" : ",\"") + p.name +
           "\":{\"train_loss\":" + json_number(p.train_loss) +
           ",\"holdout_loss\":" + json_number(p.holdout_loss) + "}";
  return out + "}";
}

}  // namespace

MetricsObserver::MetricsObserver(const std::filesystem::path& file, bool append) {
  std::error_code ec;
  if (!file.parent_path().empty()) std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) throw runtime_error("cannot create folder '" + file.parent_path().string() + "': " + ec.message());
  file_ = LineFile(file, append);
}

void MetricsObserver::on_epoch(const EpochInfo& e) {
  const std::string name = metric_label(metric_);
  file_.write_line("{\"epoch\":" + std::to_string(e.epoch + 1) + ",\"step\":" + std::to_string(e.step) +
                   ",\"train_loss\":" + json_number(e.train_loss) +
                   ",\"holdout_loss\":" + json_number(e.holdout.loss) +
                   (name.empty() ? std::string()
                                 : ",\"train_" + name + "\":" + json_number(e.train_metric) + ",\"holdout_" +
                                       name + "\":" + json_number(e.holdout.metric)) +
                   phases_json(e.phases) + "}");
}

}  // namespace keel
