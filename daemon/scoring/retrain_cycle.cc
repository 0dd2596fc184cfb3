#include "scoring/retrain_cycle.h"

namespace lstmad::daemon {

RetrainOptions RetrainOptionsFor(const config::RetrainSettings& settings, const core::Model& model) {
  RetrainOptions o = core::RetrainOptionsForModel(model);
  o.epochs = settings.epochs;
  o.holdout = settings.holdout;
  return o;
}

}  // namespace lstmad::daemon
