// Training a model on the first rows of a series, for `lstmad
// evaluate-stream`: NAB's protocol lets a detector learn from the
// probationary period and nothing after it. The recipe is core's
// (training_recipe.h), as for `lstmad train`; this file holds the flags with
// evaluate-stream's defaults. Functions of their arguments; no shared state.
#pragma once

#include <string>

#include "cli_args.h"
#include "lstmad/core/csv.h"
#include "lstmad/core/model.h"
#include "lstmad/core/status.h"
#include "lstmad/core/training_recipe.h"

namespace lstmad::tools {

using PrefixTraining = core::TrainingRecipe;

// Flags with evaluate-stream's defaults (docs/detection.md says why).
void AddPrefixTrainingFlags(ArgParser* parser);
std::string ParsePrefixTrainingFlags(const ArgParser& parser, PrefixTraining* settings);

struct TrainedPrefix {
  core::Model model;
  int epochs = 0;
  double val_loss = -1;
  double seconds = 0;
};

// Trains on the windows that lie entirely in rows [0, rows). `path` names
// the table's file in errors (time features without timestamps).
core::Result<TrainedPrefix> TrainOnPrefix(const core::CsvTable& table, const std::string& path, int rows,
                                          const PrefixTraining& settings);

}  // namespace lstmad::tools
