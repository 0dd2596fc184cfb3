#include "lstmad/core/model.h"

#include <cmath>
#include <ctime>
#include <set>
#include <utility>

#include "lstmad/core/text.h"

namespace lstmad::core {

Status Model::Validate() const {
  LSTMAD_RETURN_IF_ERROR(ValidateArchitecture(architecture, true));
  const auto features = static_cast<size_t>(architecture.features);
  const auto time_inputs = static_cast<size_t>(time_features.inputs());
  if (feature_names.size() + time_inputs != features) {
    const std::string time = time_inputs == 0 ? "" : " and " + std::to_string(time_inputs) + " time inputs";
    return Status::Error("the model has " + std::to_string(feature_names.size()) + " feature names" + time +
                         " for " + std::to_string(features) + " features");
  }
  const int scored = time_features.empty() ? 0 : series_features();
  if (error_options.scored_features != scored) {
    return Status::Error("the error options score " + std::to_string(error_options.scored_features) +
                         " features, the model's time features (" + time_features.ToString() + ") imply " +
                         std::to_string(scored));
  }
  std::set<std::string> seen;
  for (const std::string& name : feature_names) {
    if (name.empty()) return Status::Error("a feature name is empty");
    if (!seen.insert(name).second) return Status::Error("feature \"" + name + "\" appears twice");
  }
  LSTMAD_RETURN_IF_ERROR(scaler.Validate(series_features()));
  if (!std::isfinite(threshold) || threshold < 0) {
    return Status::Error("the threshold must be a finite number >= 0");
  }
  return Network<float>::Create(architecture, weights).status();
}

void Model::SetTimeFeatures(TimeFeatures time) {
  time_features = std::move(time);
  error_options.scored_features = time_features.empty() ? 0 : series_features();
}

Result<Network<float>> Model::MakeNetwork() const {
  LSTMAD_RETURN_IF_ERROR(Validate());
  return Network<float>::Create(architecture, weights);
}

std::string UtcNowIso8601() { return FormatRfc3339Seconds(static_cast<int64_t>(std::time(nullptr))); }

}  // namespace lstmad::core
