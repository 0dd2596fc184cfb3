// Training a model on the first rows of a series, for `lstmad
// evaluate-stream`: NAB's protocol lets a detector learn from the
// probationary period and nothing after it. The same steps as `lstmad train`
// (scaler fitted on the training windows' samples, Keras-style validation
// split, early stopping, threshold from the validation windows' errors).
#pragma once

#include <cstdint>
#include <string>

#include "cli_args.h"
#include "lstmad/core/architecture.h"
#include "lstmad/core/csv.h"
#include "lstmad/core/model.h"
#include "lstmad/core/scaler.h"
#include "lstmad/core/status.h"
#include "lstmad/core/threshold.h"
#include "lstmad/core/trainer.h"

namespace lstmad::tools {

struct PrefixTraining {
  core::AutoencoderSpec spec;  // timesteps, units, activation (features set from the data)
  core::TrainOptions options;
  core::ScalerKind scaler = core::ScalerKind::kStandard;
  core::ThresholdSpec threshold;
  uint64_t seed = 1;
};

// Flags with evaluate-stream's defaults (docs/detection.md says why).
void AddPrefixTrainingFlags(ArgParser* parser);
std::string ParsePrefixTrainingFlags(const ArgParser& parser, PrefixTraining* settings);

struct TrainedPrefix {
  core::Model model;
  int epochs = 0;
  double val_loss = -1;
  double seconds = 0;
};

// Trains on the windows that lie entirely in rows [0, rows).
core::Result<TrainedPrefix> TrainOnPrefix(const core::CsvTable& table, int rows,
                                          const PrefixTraining& settings);

}  // namespace lstmad::tools
