#include "lstmad/core/model.h"

#include <cmath>
#include <ctime>
#include <set>

#include "lstmad/core/text.h"

namespace lstmad::core {

Status Model::Validate() const {
  LSTMAD_RETURN_IF_ERROR(ValidateArchitecture(architecture, true));
  const auto features = static_cast<size_t>(architecture.features);
  if (feature_names.size() != features) {
    return Status::Error("the model has " + std::to_string(feature_names.size()) +
                         " feature names for " + std::to_string(features) + " features");
  }
  std::set<std::string> seen;
  for (const std::string& name : feature_names) {
    if (name.empty()) return Status::Error("a feature name is empty");
    if (!seen.insert(name).second) return Status::Error("feature \"" + name + "\" appears twice");
  }
  LSTMAD_RETURN_IF_ERROR(scaler.Validate(architecture.features));
  if (!std::isfinite(threshold) || threshold < 0) {
    return Status::Error("the threshold must be a finite number >= 0");
  }
  return Network<float>::Create(architecture, weights).status();
}

Result<Network<float>> Model::MakeNetwork() const {
  LSTMAD_RETURN_IF_ERROR(Validate());
  return Network<float>::Create(architecture, weights);
}

std::string UtcNowIso8601() { return FormatRfc3339Seconds(static_cast<int64_t>(std::time(nullptr))); }

}  // namespace lstmad::core
