#include "scoring/retrain_cycle.h"

#include <cmath>
#include <cstdlib>

#include "lstmad/core/trainer.h"

namespace lstmad::daemon {
namespace {

template <typename T>
T MetadataNumber(const core::Model& model, const char* key, T fallback) {
  auto it = model.metadata.find(key);
  if (it == model.metadata.end()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0) return fallback;
  return static_cast<T>(v);
}

}  // namespace

RetrainOptions RetrainOptionsFor(const config::RetrainSettings& settings, const core::Model& model) {
  RetrainOptions o;
  o.epochs = settings.epochs;
  o.holdout = settings.holdout;
  o.batch_size = MetadataNumber<int>(model, "batch_size", core::TrainOptions().batch_size);
  o.learning_rate = MetadataNumber<double>(model, "learning_rate", core::TrainOptions().learning_rate);
  return o;
}

}  // namespace lstmad::daemon
