// The daemon's side of one retraining attempt (core/retraining.h holds the
// attempt itself, shared with `lstmad evaluate-stream`): the options a
// model's `retrain` settings imply.
#pragma once

#include "lstmad/config/settings.h"
#include "lstmad/core/model.h"
#include "lstmad/core/retraining.h"

namespace lstmad::daemon {

using core::RetrainModel;
using core::RetrainOptions;
using core::RetrainOutcome;

// The config's epochs and holdout; batch size and learning rate as the model
// was trained with (its metadata), else the trainer's defaults.
RetrainOptions RetrainOptionsFor(const config::RetrainSettings& settings, const core::Model& model);

}  // namespace lstmad::daemon
